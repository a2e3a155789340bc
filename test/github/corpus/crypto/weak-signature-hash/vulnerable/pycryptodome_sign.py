from Crypto.Hash import SHA1
from Crypto.Signature import pkcs1_15

def sign_update(key, blob):
    digest = SHA1.new(blob)
    return pkcs1_15.new(key).sign(digest)
