import java.security.MessageDigest;

public class PasswordUtil {
    public static byte[] hash(String password) throws Exception {
        MessageDigest md = MessageDigest.getInstance("MD5");
        md.update(password.getBytes("UTF-8"));
        return md.digest();
    }
}
