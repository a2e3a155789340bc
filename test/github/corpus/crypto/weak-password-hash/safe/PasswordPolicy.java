class PasswordPolicy {
    // Checks the length of a password; no hashing here.
    boolean acceptable(String password) {
        return password != null && password.length() >= 12;
    }
    String fingerprint(byte[] certificate) throws Exception {
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        return java.util.HexFormat.of().formatHex(md.digest(certificate));
    }
}
