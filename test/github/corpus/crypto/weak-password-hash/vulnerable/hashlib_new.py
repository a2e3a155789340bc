import hashlib

def make_credential_hash(credential):
    h = hashlib.new('md5')
    h.update(credential.encode())
    return h.hexdigest()
