import { certificateInfo, normalizeCertificate } from './idp-metadata.js';
import { directChildren } from './saml-signature.js';

/**
 * Which certificate signed a SAML response that did not verify: the fingerprint of the certificate
 * the signature carries (its KeyInfo, as the IdP sent it: a hint, never trusted for verification) and
 * whether the connection has it; a certificate rollover needs that answer. Which configured
 * certificate verified a good response is told by the verification itself (./saml-signature.ts).
 */
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';

const fingerprints = new Map<string, string>();

/** SHA-256 fingerprint (`AB:CD:…`, as in the connection view) of a PEM body; remembered, since the replay asks often. */
export function fingerprintOf(body: string): string {
  let fp = fingerprints.get(body);
  if (fp === undefined) {
    fp = certificateInfo(body).fingerprintSha256;
    if (fingerprints.size > 1000) fingerprints.clear();
    fingerprints.set(body, fp);
  }
  return fp;
}

export interface SigningCertificate {
  /** Fingerprint of the certificate inside the signature's KeyInfo; null when the signature carries none or is encrypted. */
  embeddedSha256: string | null;
  /** Whether that embedded certificate is one of the connection's configured certificates. */
  embeddedIsConfigured: boolean;
  /** Fingerprints of the connection's configured certificates. */
  configuredSha256: string[];
}

/** The assertion's own signature (a direct child of the one plain Assertion), or the Response's. */
function signatureElement(doc: Document): Element | undefined {
  const response = doc.documentElement;
  if (!response || response.localName !== 'Response' || response.namespaceURI !== SAMLP_NS) return undefined;
  const direct = (parent: Element, ns: string, name: string) => directChildren(parent, ns, name)[0];
  const assertion = direct(response, SAML_NS, 'Assertion');
  return (assertion && direct(assertion, DS_NS, 'Signature')) ?? direct(response, DS_NS, 'Signature');
}

function embeddedCertificate(signature: Element): string | null {
  const x509 = signature.getElementsByTagNameNS(DS_NS, 'X509Certificate')[0];
  if (!x509?.textContent) return null;
  try {
    return normalizeCertificate(x509.textContent);
  } catch {
    return null;
  }
}

/** Reads the signature of a parsed SAMLResponse (for a failure's diagnosis: nothing here verifies). */
export function signingCertificateOf(doc: Document, configured: string[]): SigningCertificate {
  const configuredSha256 = configured.map(fingerprintOf);
  const report: SigningCertificate = { embeddedSha256: null, embeddedIsConfigured: false, configuredSha256 };
  const signature = signatureElement(doc);
  if (!signature) return report;
  const embedded = embeddedCertificate(signature);
  if (embedded) {
    report.embeddedSha256 = fingerprintOf(embedded);
    report.embeddedIsConfigured = configuredSha256.includes(report.embeddedSha256);
  }
  return report;
}

/** Plain words for a signature that did not verify: which certificate signed, and whether Palisade has it. */
export function describeSigningCertificate(s: SigningCertificate): string {
  const configured = `the connection's certificate(s): ${s.configuredSha256.join(', ') || 'none'}`;
  if (!s.embeddedSha256)
    return `The signature carries no certificate Palisade can read (or the assertion is encrypted), and it does not verify with ${configured}. If your identity provider changed its signing certificate, upload its new metadata.`;
  if (s.embeddedIsConfigured)
    return `The response names certificate ${s.embeddedSha256}, which is configured, but the signature does not verify with it: the signed content was changed after signing, or signed with another key.`;
  return `The response was signed with certificate ${s.embeddedSha256}, which is not one of ${configured}. If your identity provider rolled over its signing certificate, upload its new metadata (or add the certificate) on this connection.`;
}
