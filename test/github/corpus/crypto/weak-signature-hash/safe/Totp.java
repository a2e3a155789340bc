import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

class Totp {
    int code(byte[] key, long counter) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA1");
        mac.init(new SecretKeySpec(key, "HmacSHA1"));
        byte[] h = mac.doFinal(java.nio.ByteBuffer.allocate(8).putLong(counter).array());
        int o = h[h.length - 1] & 0xf;
        return ((java.nio.ByteBuffer.wrap(h, o, 4).getInt()) & 0x7fffffff) % 1_000_000;
    }
}
