from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
import os

def encrypt(key, data):
    nonce = os.urandom(16)
    enc = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
    return nonce + enc.update(data) + enc.finalize()
