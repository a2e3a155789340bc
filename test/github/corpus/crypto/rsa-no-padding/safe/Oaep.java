class Wrap {
    javax.crypto.Cipher c() throws Exception { return javax.crypto.Cipher.getInstance("RSA/ECB/OAEPWithSHA-256AndMGF1Padding"); }
}
