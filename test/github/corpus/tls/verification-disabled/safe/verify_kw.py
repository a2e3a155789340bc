def verify(token, verify=True):
    return jwt.decode(token, KEY, algorithms=['HS256'], options={'verify_signature': verify})

def check(x):
    return verify(x, verify=True)
