from Crypto.Cipher import AES

class TokenBox:
    def __init__(self, key):
        self.cipher = AES.new(key, mode=AES.MODE_ECB)

    def seal(self, data):
        return self.cipher.encrypt(data)
