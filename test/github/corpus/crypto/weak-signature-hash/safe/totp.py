import hmac, hashlib, struct, time

def totp(key: bytes, period: int = 30) -> str:
    counter = struct.pack('>Q', int(time.time()) // period)
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack('>I', mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f'{code:06d}'
