from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

def encrypt(key, data):
    enc = Cipher(algorithms.AES(key), modes.CBC(b'1234567890123456')).encryptor()
    return enc.update(data) + enc.finalize()
