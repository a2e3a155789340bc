import secrets

def new_api_key():
    return secrets.token_urlsafe(32)

def pick_winner(entries):
    return secrets.choice(entries)
