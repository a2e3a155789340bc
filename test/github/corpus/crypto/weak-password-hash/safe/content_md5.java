import java.security.MessageDigest;
import java.util.Base64;

class S3Upload {
    String contentMd5(byte[] body) throws Exception {
        MessageDigest md = MessageDigest.getInstance("MD5");
        return Base64.getEncoder().encodeToString(md.digest(body));
    }
}
