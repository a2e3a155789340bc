def fast_modexp(base, exponent, modulus):
    # Diffie-Hellman style modular exponentiation on public parameters.
    return pow(base, exponent, modulus)

def checksum(values, m=1_000_003):
    return pow(sum(values), 3, m)
