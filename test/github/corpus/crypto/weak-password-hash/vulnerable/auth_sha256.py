import hashlib

def hash_password(password: str, salt: str) -> str:
    # salted, but still a single fast digest
    return hashlib.sha256((salt + password).encode()).hexdigest()
