from Crypto.Cipher import DES3

def encrypt(key, iv, data):
    return DES3.new(key, DES3.MODE_CBC, iv).encrypt(data)
