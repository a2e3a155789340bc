import org.apache.commons.lang3.RandomStringUtils;

class Invites {
    String inviteCode() {
        return RandomStringUtils.randomAlphanumeric(12);
    }
}
