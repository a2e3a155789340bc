import javax.crypto.spec.IvParameterSpec;
import java.util.Arrays;

class Reader {
    IvParameterSpec ivOf(byte[] message) {
        return new IvParameterSpec(Arrays.copyOfRange(message, 0, 16));
    }
}
