import java.security.MessageDigest;

class TemplateCache {
    String keyFor(String templateSource) throws Exception {
        MessageDigest md = MessageDigest.getInstance("MD5");
        byte[] d = md.digest(templateSource.getBytes());
        return java.util.HexFormat.of().formatHex(d);
    }
}
