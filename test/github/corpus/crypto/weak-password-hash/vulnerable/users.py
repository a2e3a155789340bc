import hashlib

class UserService:
    def set_password(self, user, raw_password):
        user.password = hashlib.md5(raw_password.encode('utf-8')).hexdigest()
        user.save()
