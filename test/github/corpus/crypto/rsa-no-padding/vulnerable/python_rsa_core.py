import rsa.core

def raw_encrypt(m, pub):
    return rsa.core.encrypt_int(m, pub.e, pub.n)
