import java.security.Signature;

class Sig {
    Signature pss() throws Exception { return Signature.getInstance("RSASSA-PSS"); }
}
