from Crypto.Cipher import AES

IV = b'\x00' * 16

def encrypt(key, data):
    return AES.new(key, AES.MODE_CBC, IV).encrypt(data)
