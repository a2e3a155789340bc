import { type KeyObject, createPublicKey } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { decrypt } from 'xml-encryption';
import { toPem } from './idp-metadata.js';

/**
 * Verifies the XML signature over one element of a SAML message, on the document the caller has
 * already parsed: the cryptography is xml-crypto's, and what is trusted afterwards is only the octets
 * it verified (`getSignedReferences`), parsed again, never nodes of the original document.
 *
 * Why not @node-saml/node-saml's `validatePostResponseAsync`: it parses the response again, verifies
 * through xml-crypto with three ID attribute names (each an XPath over the whole document: a third of
 * a sign-in's CPU), then converts the assertion with xml2js. Palisade already parses the response once
 * to enforce its own structure rules (saml.ts `inspect`) and reads the assertion from the DOM, so the
 * library's work was done twice (issue 14). The checks node-saml applies to a signature are kept here:
 * exactly one enveloped signature on the element, at most two transforms, one reference, whose ID
 * names that element and no other element of the document.
 */
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';

/** Public keys of IdP certificates, parsed once per certificate (PEM body → KeyObject). */
const publicKeys = new Map<string, KeyObject>();

function publicKeyOf(body: string): KeyObject {
  let key = publicKeys.get(body);
  if (key === undefined) {
    key = createPublicKey(toPem(body));
    if (publicKeys.size > 1000) publicKeys.clear();
    publicKeys.set(body, key);
  }
  return key;
}

/** Thrown when no configured certificate verifies a signature; saml.ts diagnoses which certificate signed. */
export class SignatureNotVerified extends Error {
  constructor(what: string) {
    super(`Invalid signature: ${what}`);
  }
}

/**
 * A signature shaped to make the verifier look at one element while Palisade reads another (several
 * signatures, references or transforms; a reference naming another element, or an ID two elements
 * carry): refused as signature wrapping whatever the keys say.
 */
export class SignatureWrapping extends Error {
  constructor(what: string) {
    super(`Invalid signature: ${what}`);
  }
}

export function directChildren(parent: Element, ns: string, name: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling)
    if (n.nodeType === 1 && (n as Element).localName === name && (n as Element).namespaceURI === ns)
      out.push(n as Element);
  return out;
}

/** Every element of `doc` carrying `id` in an attribute whose local name is ID, Id or id (any namespace). */
function elementsWithId(doc: Document, id: string): Element[] {
  const found: Element[] = [];
  const walk = (el: Element): void => {
    const attrs = el.attributes;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs.item(i);
      if (a && a.value === id && (a.localName === 'ID' || a.localName === 'Id' || a.localName === 'id')) {
        found.push(el);
        break;
      }
    }
    for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) walk(n as Element);
  };
  if (doc.documentElement) walk(doc.documentElement);
  return found;
}

export interface VerifiedElement {
  /** The canonical octets the signature covers: the only XML to read identity from. */
  xml: string;
  /** Index in the configured certificates of the one whose key verified it. */
  certificateIndex: number;
}

/**
 * The signed octets of `element` (which must carry an enveloped ds:Signature as a direct child), or
 * null when it carries none. Throws SignatureNotVerified when no configured certificate verifies it,
 * and SignatureWrapping naming the rule for a signature shaped to confuse.
 * @param fullXml the document text `element` was parsed from, line endings normalized to \n.
 */
export function verifiedElement(fullXml: string, element: Element, certificates: string[]): VerifiedElement | null {
  const signatures = directChildren(element, DS_NS, 'Signature');
  if (signatures.length === 0) return null;
  if (signatures.length > 1) throw new SignatureWrapping('too many signatures found for this element');
  const signature = signatures[0] as Element;
  if (signature.getElementsByTagNameNS(DS_NS, 'Transform').length > 2)
    throw new SignatureWrapping('too many transforms');
  const id = element.getAttribute('ID') ?? '';
  for (const [index, body] of certificates.entries()) {
    const sig = new SignedXml({ publicCert: publicKeyOf(body), getCertFromKeyInfo: () => null });
    // SAML names elements by ID only; the verifier then runs one XPath over the document instead of
    // three (Id, ID, id). The uniqueness of the ID under all three names is checked below, by a walk.
    sig.idAttributes = ['ID'];
    sig.loadSignature(signature);
    const refs = sig.getReferences();
    if (refs.length !== 1) throw new SignatureWrapping('exactly one reference is allowed');
    const uri = refs[0]?.uri ?? '';
    const refId = uri.startsWith('#') ? uri.slice(1) : uri;
    if (!refId || refId !== id) throw new SignatureWrapping('the reference does not name the signed element');
    if (refId.includes("'") || refId.includes('"')) throw new SignatureWrapping('quote in the reference');
    const named = elementsWithId(element.ownerDocument, refId);
    if (named.length !== 1 || named[0] !== element)
      throw new SignatureWrapping('ID cannot refer to more than one element');
    let ok = false;
    try {
      ok = sig.checkSignature(fullXml);
    } catch {
      ok = false; // another configured certificate may verify it
    }
    if (!ok) continue;
    const signed = sig.getSignedReferences();
    if (signed.length !== 1) throw new SignatureWrapping('only one signed reference may be present');
    return { xml: signed[0] as string, certificateIndex: index };
  }
  throw new SignatureNotVerified("no configured certificate verifies the element's signature");
}

/** Parses the verified octets of an assertion; only a saml:Assertion is accepted. */
export function signedAssertion(verifiedXml: string): Element {
  const doc = new DOMParser({ onError: () => undefined }).parseFromString(
    verifiedXml,
    'text/xml',
  ) as unknown as Document;
  const root = doc.documentElement;
  if (!root || root.localName !== 'Assertion' || root.namespaceURI !== SAML_NS)
    throw new Error('Cannot obtain assertion from signed data');
  return root;
}

/** Decrypts an EncryptedAssertion (or EncryptedID) with the SP key; insecure algorithms are refused by the library too. */
export function decryptElement(encrypted: Element, decryptionKey: string): Promise<string> {
  return new Promise<string>((resolve, reject) =>
    decrypt(encrypted.toString(), { key: decryptionKey, disallowDecryptionWithInsecureAlgorithm: true }, (err, out) =>
      err ? reject(err) : resolve(out),
    ),
  );
}
