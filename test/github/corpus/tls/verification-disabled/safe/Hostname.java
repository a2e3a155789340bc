import javax.net.ssl.*;

class Strict implements HostnameVerifier {
    public boolean verify(String hostname, SSLSession session) {
        return HttpsURLConnection.getDefaultHostnameVerifier().verify(hostname, session) && hostname.endsWith(".example.com");
    }
}
