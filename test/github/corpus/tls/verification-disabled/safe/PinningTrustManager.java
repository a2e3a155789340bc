import javax.net.ssl.X509TrustManager;
import java.security.cert.*;

class Pinning implements X509TrustManager {
    private final X509TrustManager delegate;
    Pinning(X509TrustManager d) { this.delegate = d; }
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException { delegate.checkClientTrusted(chain, authType); }
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        delegate.checkServerTrusted(chain, authType);
        if (!pinned(chain[0])) throw new CertificateException("pin mismatch");
    }
    public X509Certificate[] getAcceptedIssuers() { return delegate.getAcceptedIssuers(); }
    private boolean pinned(X509Certificate c) { return true; }
}
