import org.apache.commons.codec.digest.DigestUtils;

class Accounts {
    void changePassword(User user, String newPassword) {
        user.setPasswordHash(DigestUtils.sha1Hex(newPassword));
    }
}
