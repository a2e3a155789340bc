import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import java.security.SecureRandom;

class Crypto {
    private static final SecureRandom RNG = new SecureRandom();
    byte[] enc(javax.crypto.SecretKey key, byte[] data) throws Exception {
        byte[] nonce = new byte[12];
        RNG.nextBytes(nonce);
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
        return c.doFinal(data);
    }
}
