import javax.crypto.KeyGenerator;

class KeyGen {
    javax.crypto.SecretKey aes() throws Exception {
        KeyGenerator g = KeyGenerator.getInstance("AES");
        g.init(256);
        return g.generateKey();
    }
}
