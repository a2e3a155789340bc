import org.springframework.security.crypto.argon2.Argon2PasswordEncoder;

class Passwords {
    private final Argon2PasswordEncoder encoder = Argon2PasswordEncoder.defaultsForSpringSecurityV5_8();
    String hashPassword(String password) {
        return encoder.encode(password);
    }
}
