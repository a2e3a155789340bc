class Old {
    javax.crypto.Cipher c() throws Exception { return javax.crypto.Cipher.getInstance("DESede/ECB/NoPadding"); }
}
