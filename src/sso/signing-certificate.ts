import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { certificateInfo, normalizeCertificate, toPem } from './idp-metadata.js';
import { directChildren } from './saml-signature.js';

/**
 * Which certificate signed a SAML response: the fingerprint of the certificate the signature carries
 * (its KeyInfo, as the IdP sent it: a hint, never trusted for verification) and which configured
 * certificate's key actually verifies it. A verifier says only "invalid signature" and never which of
 * several configured certificates verified a good one; a certificate rollover needs both answers.
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
  /** Fingerprint of the configured certificate whose key verifies the assertion's signature; null when none does, or when it cannot be told (encrypted assertion). */
  verifiedBySha256: string | null;
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

function verifies(xml: string, signature: Element, body: string): boolean {
  try {
    const sig = new SignedXml({ publicCert: toPem(body), getCertFromKeyInfo: () => null });
    sig.loadSignature(signature);
    return sig.checkSignature(xml);
  } catch {
    return false;
  }
}

/**
 * Reads a decoded SAMLResponse. `verify: false` only reports the embedded certificate (for a
 * failure's diagnosis); otherwise each configured certificate is tried against the signature.
 */
export function signingCertificateOf(
  xml: string,
  configured: string[],
  opts: { verify?: boolean } = {},
): SigningCertificate {
  const configuredSha256 = configured.map(fingerprintOf);
  const report: SigningCertificate = {
    embeddedSha256: null,
    embeddedIsConfigured: false,
    verifiedBySha256: null,
    configuredSha256,
  };
  let doc: Document;
  const normalized = xml.replace(/\r\n?/g, '\n');
  try {
    doc = new DOMParser({ onError: () => undefined }).parseFromString(normalized, 'text/xml') as unknown as Document;
  } catch {
    return report;
  }
  const signature = signatureElement(doc);
  if (!signature) return report;
  const embedded = embeddedCertificate(signature);
  if (embedded) {
    report.embeddedSha256 = fingerprintOf(embedded);
    report.embeddedIsConfigured = configuredSha256.includes(report.embeddedSha256);
  }
  if (opts.verify !== false) {
    const index = configured.findIndex((body) => verifies(normalized, signature, body));
    report.verifiedBySha256 = index >= 0 ? (configuredSha256[index] as string) : null;
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
