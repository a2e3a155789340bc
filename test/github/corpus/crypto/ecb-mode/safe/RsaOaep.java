import javax.crypto.Cipher;

class Wrap {
    Cipher oaep() throws Exception {
        // "ECB" is a misnomer for RSA in the JCA: one block, OAEP padding.
        return Cipher.getInstance("RSA/ECB/OAEPWithSHA-256AndMGF1Padding");
    }
}
