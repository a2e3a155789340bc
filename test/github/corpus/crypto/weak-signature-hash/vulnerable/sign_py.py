from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

def sign_document(private_key, document: bytes) -> bytes:
    return private_key.sign(document, padding.PKCS1v15(), hashes.SHA1())
