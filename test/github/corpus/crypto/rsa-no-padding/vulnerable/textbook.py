def rsa_encrypt(message: int, public_key) -> int:
    # textbook RSA
    return pow(message, public_key.e, public_key.n)
