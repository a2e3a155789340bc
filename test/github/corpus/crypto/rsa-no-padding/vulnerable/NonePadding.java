class Bc {
    javax.crypto.Cipher c() throws Exception { return javax.crypto.Cipher.getInstance("RSA/NONE/NoPadding", "BC"); }
}
