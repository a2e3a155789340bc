from Crypto.PublicKey import RSA

key = RSA.importKey(open('pub.pem').read())

def encrypt(msg):
    return key.encrypt(msg, 32)
