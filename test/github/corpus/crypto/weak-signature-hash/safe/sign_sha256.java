import java.security.*;

class ReleaseSigner {
    byte[] sign(byte[] payload, PrivateKey key) throws Exception {
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(key);
        s.update(payload);
        return s.sign();
    }
}
