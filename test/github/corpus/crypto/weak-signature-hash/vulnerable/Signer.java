import java.security.PrivateKey;
import java.security.Signature;

class Signer {
    byte[] sign(byte[] payload, PrivateKey key) throws Exception {
        Signature s = Signature.getInstance("SHA1withRSA");
        s.initSign(key);
        s.update(payload);
        return s.sign();
    }
}
