from hashlib import sha1

def store_pin(user_id, pin):
    pin_hash = sha1(pin.encode()).hexdigest()
    db.execute("UPDATE cards SET pin_hash=%s WHERE user_id=%s", (pin_hash, user_id))
