from Crypto.Cipher import Blowfish

cipher = Blowfish.new(KEY, Blowfish.MODE_CBC, IV)
