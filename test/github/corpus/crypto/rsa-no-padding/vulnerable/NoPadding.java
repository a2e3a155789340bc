import javax.crypto.Cipher;

class RawRsa {
    byte[] encrypt(java.security.PublicKey key, byte[] data) throws Exception {
        Cipher c = Cipher.getInstance("RSA/ECB/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, key);
        return c.doFinal(data);
    }
}
