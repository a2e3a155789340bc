import random, string

class InviteService:
    def create_invitation(self, email):
        code = ''.join(random.choice(string.ascii_uppercase) for _ in range(8))
        self.repo.save(email=email, code=code)
        return code
