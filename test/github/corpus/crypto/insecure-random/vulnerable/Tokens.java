import java.util.Random;

class Tokens {
    private final Random random = new Random();
    String newPasswordResetToken() {
        return Long.toHexString(random.nextLong());
    }
}
