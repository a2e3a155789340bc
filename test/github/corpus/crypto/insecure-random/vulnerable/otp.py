import random

def send_otp(phone):
    otp = random.randint(100000, 999999)
    sms.send(phone, f"Your code is {otp}")
    return otp
