import javax.crypto.Cipher;
class Ctr { Cipher c() throws Exception { return Cipher.getInstance("AES/CTR/NoPadding"); } }
