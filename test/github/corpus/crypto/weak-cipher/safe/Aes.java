class Aes {
    javax.crypto.Cipher c() throws Exception { return javax.crypto.Cipher.getInstance("AES/GCM/NoPadding"); }
}
