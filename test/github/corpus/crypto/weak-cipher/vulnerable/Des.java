import javax.crypto.Cipher;

class Des {
    Cipher get() throws Exception {
        return Cipher.getInstance("DES/CBC/PKCS5Padding");
    }
}
