import java.security.*;

class Verifier {
    boolean check(byte[] data, byte[] sig, PublicKey pub) throws GeneralSecurityException {
        Signature verifier = Signature.getInstance("MD5withRSA");
        verifier.initVerify(pub);
        verifier.update(data);
        return verifier.verify(sig);
    }
}
