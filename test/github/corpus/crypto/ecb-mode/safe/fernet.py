from cryptography.fernet import Fernet

def encrypt(key: bytes, data: bytes) -> bytes:
    return Fernet(key).encrypt(data)
