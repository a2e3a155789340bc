import javax.crypto.spec.GCMParameterSpec;

class Gcm {
    GCMParameterSpec spec() {
        return new GCMParameterSpec(128, new byte[12]);
    }
}
