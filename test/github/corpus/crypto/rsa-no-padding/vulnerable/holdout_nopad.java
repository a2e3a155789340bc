import javax.crypto.Cipher;
class Raw {
  static final String T = "RSA/ECB/NoPadding";
  Cipher c() throws Exception { return Cipher.getInstance("RSA/ECB/NoPadding"); }
}
