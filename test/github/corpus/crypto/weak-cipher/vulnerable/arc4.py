from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

def stream(key, data):
    return Cipher(algorithms.ARC4(key), mode=None).encryptor().update(data)
