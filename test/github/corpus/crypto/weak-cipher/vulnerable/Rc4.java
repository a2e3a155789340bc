import javax.crypto.*;

class Stream {
    Cipher c() throws Exception { return Cipher.getInstance("RC4"); }
    SecretKey k() throws Exception { return KeyGenerator.getInstance("DESede").generateKey(); }
}
