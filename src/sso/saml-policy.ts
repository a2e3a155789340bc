import { type SsoFailure, fail } from './diagnosis.js';

/**
 * What Palisade requires of a SAML response beyond its signature (./saml-signature.ts): the algorithms
 * (an allowlist, so an algorithm nobody reviewed is refused, not tried), who issued it, what the
 * IdP's status says, and how long the assertion claims to be valid.
 */
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const XENC_NS = 'http://www.w3.org/2001/04/xmlenc#';
const plain = "Your identity provider's answer failed Palisade's security checks, so you were not signed in.";

const SHA1_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const SHA1_DIGEST = 'http://www.w3.org/2000/09/xmldsig#sha1';
/** Signature algorithms the verifier implements, minus SHA-1 (allowed per connection only). */
const SIGNATURE_OK = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1',
]);
const DIGEST_OK = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);
/** Encryption: RSA-OAEP key transport and AES content encryption. */
const KEY_TRANSPORT_OK = new Set([
  'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
  'http://www.w3.org/2009/xmlenc11#rsa-oaep',
]);
const CONTENT_ENCRYPTION_OK = new Set([
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes192-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2009/xmlenc11#aes192-gcm',
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
]);
/** Never acceptable, with or without a setting: PKCS#1 v1.5 key transport (Bleichenbacher) and 3DES. */
const BROKEN_ENCRYPTION = new Set([
  'http://www.w3.org/2001/04/xmlenc#rsa-1_5',
  'http://www.w3.org/2001/04/xmlenc#tripledes-cbc',
]);

/** Algorithm URIs of `localName` elements; `parent` restricts them to one context (a ds:DigestMethod inside RSA-OAEP's EncryptionMethod is OAEP's mask hash, not a signature digest). */
const algorithmsIn = (root: Document | Element, ns: string, localName: string, parent?: string) =>
  Array.from(root.getElementsByTagNameNS(ns, localName))
    .filter((el) => !parent || (el.parentNode as Element | null)?.localName === parent)
    .map((el) => el.getAttribute('Algorithm') ?? '');

/**
 * Refuses a document whose signatures or encryption use an algorithm outside the allowlist. SHA-1
 * (signature or digest) is refused with `saml_weak_algorithm` unless the connection explicitly
 * allows it; PKCS#1 v1.5 key transport and 3DES are refused always (`saml_insecure_encryption`).
 */
export function checkAlgorithms(root: Document | Element, allowSha1: boolean, where: string): void {
  const signatures = algorithmsIn(root, DS_NS, 'SignatureMethod', 'SignedInfo');
  const digests = algorithmsIn(root, DS_NS, 'DigestMethod', 'Reference');
  const sha1 = [...signatures.filter((a) => a === SHA1_SIGNATURE), ...digests.filter((a) => a === SHA1_DIGEST)];
  if (sha1.length && !allowSha1) {
    throw fail('saml_weak_algorithm', plain, 'signatures and digests use SHA-256 or stronger', {
      expected: 'rsa-sha256 / sha256 (or SHA-512)',
      received: [...new Set(sha1)],
      detail: `The identity provider signs ${where} with SHA-1, which Palisade refuses by default. Switch the IdP's signing algorithm to SHA-256 (Okta, Entra ID, ADFS and Google all offer it). Only if that is impossible, allow SHA-1 on this connection with PATCH {"saml":{"allowSha1Signatures":true}} (audited).`,
    });
  }
  const unknownSignature = signatures.filter((a) => !SIGNATURE_OK.has(a) && !(allowSha1 && a === SHA1_SIGNATURE));
  const unknownDigest = digests.filter((a) => !DIGEST_OK.has(a) && !(allowSha1 && a === SHA1_DIGEST));
  if (unknownSignature.length || unknownDigest.length) {
    throw fail('saml_unsupported_algorithm', plain, 'signature and digest algorithms Palisade verifies', {
      expected: [...SIGNATURE_OK, ...DIGEST_OK],
      received: [...new Set([...unknownSignature, ...unknownDigest])],
      detail: `The identity provider signs ${where} with an algorithm Palisade does not accept. Configure it to sign with RSA-SHA256.`,
    });
  }
  const encryption = algorithmsIn(root, XENC_NS, 'EncryptionMethod');
  const oaepDigests = algorithmsIn(root, DS_NS, 'DigestMethod', 'EncryptionMethod').filter(
    (a) => ![SHA1_DIGEST, ...DIGEST_OK].includes(a),
  );
  if (oaepDigests.length)
    throw fail('saml_unsupported_algorithm', plain, 'RSA-OAEP with SHA-1 or SHA-2 mask hash', {
      received: [...new Set(oaepDigests)],
    });
  const broken = encryption.filter((a) => BROKEN_ENCRYPTION.has(a));
  if (broken.length) {
    throw fail('saml_insecure_encryption', plain, 'assertion encryption uses RSA-OAEP and AES', {
      expected: [...KEY_TRANSPORT_OK, ...CONTENT_ENCRYPTION_OK],
      received: [...new Set(broken)],
      detail:
        'The identity provider encrypts the assertion with RSA PKCS#1 v1.5 key transport or 3DES, both broken for this use; Palisade refuses them whatever the settings. Configure RSA-OAEP and AES-256 (CBC or GCM) at the identity provider.',
    });
  }
  const unknownEncryption = encryption.filter((a) => !KEY_TRANSPORT_OK.has(a) && !CONTENT_ENCRYPTION_OK.has(a));
  if (unknownEncryption.length) {
    throw fail('saml_unsupported_algorithm', plain, 'encryption algorithms Palisade accepts', {
      expected: [...KEY_TRANSPORT_OK, ...CONTENT_ENCRYPTION_OK],
      received: [...new Set(unknownEncryption)],
    });
  }
}

export interface IdpStatus {
  code: string | null;
  subcode: string | null;
  message: string | null;
}

/** The top-level status of a samlp:Response. */
export function responseStatus(response: Element): IdpStatus {
  const status = Array.from(response.childNodes).find(
    (n): n is Element =>
      n.nodeType === 1 && (n as Element).localName === 'Status' && (n as Element).namespaceURI === SAMLP_NS,
  );
  const code = status
    ? Array.from(status.childNodes).find(
        (n): n is Element => n.nodeType === 1 && (n as Element).localName === 'StatusCode',
      )
    : undefined;
  const sub = code
    ? Array.from(code.childNodes).find(
        (n): n is Element => n.nodeType === 1 && (n as Element).localName === 'StatusCode',
      )
    : undefined;
  const message = status?.getElementsByTagNameNS(SAMLP_NS, 'StatusMessage')[0]?.textContent ?? null;
  return { code: code?.getAttribute('Value') ?? null, subcode: sub?.getAttribute('Value') ?? null, message };
}

const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const short = (uri: string | null) => (uri ? uri.slice(uri.lastIndexOf(':') + 1) : null);

/**
 * A response whose status is not Success is the IdP refusing the sign-in, even when it carries a
 * (signed) assertion: the assertion is not used.
 */
export function checkStatus(status: IdpStatus): void {
  if (status.code === SUCCESS) return;
  const what = [short(status.code), short(status.subcode)].filter(Boolean).join('/') || 'no status';
  throw fail('saml_idp_error', 'Your identity provider did not sign you in.', 'Response status is Success', {
    expected: SUCCESS,
    received: { code: status.code, subcode: status.subcode },
    detail: `The identity provider answered ${what}${status.message ? `: "${status.message.slice(0, 200)}"` : ''}. Any assertion in such a response is ignored; look at the identity provider's sign-in log for this user.`,
  });
}

const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';

/** The direct child Issuer of an element (Response or Assertion), if any. */
export function issuerOf(el: Element): Element | undefined {
  return Array.from(el.childNodes).find(
    (n): n is Element =>
      n.nodeType === 1 && (n as Element).localName === 'Issuer' && (n as Element).namespaceURI === SAML_NS,
  );
}

/**
 * The Issuer must be the connection's IdP entity id (SAML core §2.2.5, profiles §4.1.4.2): the
 * assertion always names it; the response names it when signed or when its assertion is encrypted,
 * and must name the same IdP whenever it names one. Without this, two connections that trust one
 * signing certificate would accept each other's assertions.
 */
export function checkIssuer(
  issuer: Element | undefined,
  expected: string | null,
  where: 'Response' | 'Assertion',
  required: boolean,
): SsoFailure | undefined {
  if (!issuer) {
    if (!required) return undefined;
    return fail('saml_issuer_missing', plain, `${where} names its Issuer`, {
      expected,
      received: null,
      detail: `The ${where} has no <saml:Issuer>; the identity provider must name itself (its entity id) in every assertion, and in the response when it is signed or its assertion encrypted.`,
    });
  }
  const value = (issuer.textContent ?? '').trim();
  const format = issuer.getAttribute('Format');
  if (format && format !== ENTITY_FORMAT)
    return fail('saml_wrong_issuer', plain, `${where} Issuer is an entity id`, {
      expected: ENTITY_FORMAT,
      received: format,
    });
  if (!expected || value !== expected) {
    return fail('saml_wrong_issuer', plain, `${where} Issuer is this connection's IdP entity id`, {
      expected,
      received: value.slice(0, 300),
      detail: `The ${where} was issued by "${value.slice(0, 200)}", not by the identity provider this connection trusts. If the IdP's entity id changed, upload its new metadata; otherwise the response was meant for another service provider or connection.`,
    });
  }
  return undefined;
}

/**
 * How long the signed assertion claims to be valid: from IssueInstant to the earliest NotOnOrAfter
 * (Conditions, bearer SubjectConfirmationData). Identity providers issue minutes to an hour; an
 * assertion valid for days is a stolen-assertion window, refused above the configured cap.
 */
export function checkLifetime(
  assertion: Element,
  notOnOrAfter: string,
  now: number,
  skewMs: number,
  maxLifetimeMinutes: number,
): void {
  const issued = Date.parse(assertion.getAttribute('IssueInstant') ?? '');
  if (Number.isNaN(issued))
    throw fail('saml_issue_instant_invalid', plain, 'assertion IssueInstant is a time', {
      received: assertion.getAttribute('IssueInstant'),
    });
  if (issued - skewMs > now)
    throw fail('saml_issue_instant_invalid', plain, 'assertion IssueInstant is not in the future (with clock skew)', {
      expected: `before ${new Date(now + skewMs).toISOString()}`,
      received: new Date(issued).toISOString(),
      detail: "The identity provider's clock is ahead of Palisade's by more than the allowed skew; check NTP on both.",
    });
  const capMs = maxLifetimeMinutes * 60_000;
  const lifetime = Date.parse(notOnOrAfter) - issued;
  if (lifetime > capMs + skewMs) {
    throw fail(
      'saml_assertion_lifetime_too_long',
      plain,
      `assertion lifetime (IssueInstant to NotOnOrAfter) at most ${maxLifetimeMinutes} minutes`,
      {
        expected: `NotOnOrAfter before ${new Date(issued + capMs).toISOString()}`,
        received: notOnOrAfter,
        detail: `The assertion claims to be valid for ${Math.round(lifetime / 60_000)} minutes. Shorten the assertion lifetime at the identity provider (5 to 60 minutes is usual), or raise PALISADE_SAML_MAX_ASSERTION_LIFETIME_MINUTES.`,
      },
    );
  }
  if (now - issued > capMs + skewMs) {
    throw fail('saml_assertion_expired', plain, `assertion issued at most ${maxLifetimeMinutes} minutes ago`, {
      expected: `issued after ${new Date(now - capMs).toISOString()}`,
      received: new Date(issued).toISOString(),
    });
  }
}

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/**
 * The Web SSO profile's subject confirmation (profiles §4.1.4.2): a bearer confirmation whose
 * InResponseTo is the request this response answers (absent for an IdP-initiated one). A signed
 * assertion minted for one request cannot be re-wrapped in a response to another.
 */
export function checkBearerConfirmation(assertion: Element, envelopeInResponseTo: string | null): Element[] {
  const confirmations = Array.from(assertion.getElementsByTagNameNS(SAML_NS, 'SubjectConfirmation')).filter(
    (c) => c.getAttribute('Method') === BEARER,
  );
  if (!confirmations.length) {
    const methods = Array.from(assertion.getElementsByTagNameNS(SAML_NS, 'SubjectConfirmation')).map((c) =>
      c.getAttribute('Method'),
    );
    throw fail('saml_no_bearer_confirmation', plain, 'a bearer SubjectConfirmation', {
      expected: BEARER,
      received: methods,
    });
  }
  const data = confirmations.flatMap((c) => Array.from(c.getElementsByTagNameNS(SAML_NS, 'SubjectConfirmationData')));
  const answered = data.map((d) => d.getAttribute('InResponseTo') || null);
  if (!answered.includes(envelopeInResponseTo)) {
    throw fail(
      'saml_in_response_to_invalid',
      plain,
      'the signed SubjectConfirmationData InResponseTo equals the Response InResponseTo',
      {
        expected: envelopeInResponseTo,
        received: answered,
        detail:
          'The signed assertion answers a different request than the response that carries it (a re-wrapped assertion).',
      },
    );
  }
  return data;
}
