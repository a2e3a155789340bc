import secrets
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def seal(key, msg, aad=None):
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(key).encrypt(nonce, msg, aad)
