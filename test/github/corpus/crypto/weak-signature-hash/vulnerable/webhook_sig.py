import hashlib

def request_signature(secret: str, body: str) -> str:
    # signature = md5(secret + body)
    return hashlib.md5((secret + body).encode()).hexdigest()

def verify_request(secret, body, signature):
    return request_signature(secret, body) == signature
