import java.util.Random;

class TestDataGenerator {
    private final Random random = new Random(42);
    int nextAge() {
        return 18 + random.nextInt(60);
    }
}
