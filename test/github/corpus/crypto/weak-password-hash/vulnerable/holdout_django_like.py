import hashlib

class LegacyHasher:
    algorithm = "unsalted_md5"

    def encode(self, password, salt=''):
        return hashlib.md5(password.encode()).hexdigest()
