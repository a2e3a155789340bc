import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as validator from '@authenio/samlify-node-xmllint';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import * as samlify from 'samlify';

/**
 * A SAML identity provider built from samlify in IdP mode, signing with keys made for the test
 * (openssl, self-signed). It parses Palisade's real AuthnRequest (so InResponseTo is genuine) and
 * mints responses; `overrides` bend one field at a time for the attack suite.
 */
samlify.setSchemaValidator(validator);

export interface KeyPair {
  key: string;
  cert: string;
}

export function makeKeyPair(cn: string): KeyPair {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-saml-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const IDP_ENTITY = 'urn:test:idp';
export const IDP_SSO_URL = 'http://idp.test/sso';

/** `wantAuthnRequestsSigned` sets the IDPSSODescriptor attribute of that name (the IdP refuses unsigned requests). */
export function idpMetadata(certs: string[], opts: { wantAuthnRequestsSigned?: boolean } = {}): string {
  const body = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const kds = certs
    .map(
      (c) =>
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body(c)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    )
    .join('');
  return `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${IDP_ENTITY}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"${opts.wantAuthnRequestsSigned !== undefined ? ` WantAuthnRequestsSigned="${opts.wantAuthnRequestsSigned}"` : ''}>${kds}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${IDP_SSO_URL}"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
}

export interface ResponseFields {
  nameId: string;
  /** NameID Format (default emailAddress); `urn:oasis:names:tc:SAML:2.0:nameid-format:persistent` for a stable opaque id. */
  nameIdFormat?: string;
  attributes: Record<string, string[]>;
  inResponseTo?: string | null;
  destination?: string;
  recipient?: string;
  audience?: string;
  issuer?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
  /** IssueInstant of the response and assertion (default: now, by the real clock). */
  issueInstant?: Date;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/**
 * The octets an HTTP-Redirect binding signature covers (SAML bindings §3.4.4.1):
 * `SAMLRequest=…&RelayState=…&SigAlg=…`, each value exactly as URL-encoded in the query string the
 * browser carried (not re-encoded), RelayState only when present.
 */
export function redirectSignedOctets(redirectUrl: string): string {
  const raw = new Map<string, string>();
  for (const pair of new URL(redirectUrl).search.slice(1).split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!raw.has(name)) raw.set(name, eq < 0 ? '' : pair.slice(eq + 1));
  }
  return ['SAMLRequest', 'RelayState', 'SigAlg']
    .filter((n) => raw.has(n))
    .map((n) => `${n}=${raw.get(n)}`)
    .join('&');
}

export class TestIdp {
  constructor(
    private readonly keys: KeyPair,
    private readonly encrypt = false,
    /** As a strict IdP: samlify refuses AuthnRequests whose redirect signature is missing or does not verify with the SP's signing certificate. */
    private readonly wantAuthnRequestsSigned = false,
  ) {}

  /**
   * Palisade's AuthnRequest id, read by samlify from the redirect URL Palisade produced. A strict
   * IdP first verifies the redirect signature over the raw query octets with the signing
   * certificate in `spMetadata` (samlify's `verifyMessageSignature`), and rejects otherwise.
   */
  async requestIdFrom(redirectUrl: string, spMetadata: string): Promise<string> {
    const url = new URL(redirectUrl);
    const idp = this.idp();
    const sp = samlify.ServiceProvider({ metadata: spMetadata });
    const parsed = await idp.parseLoginRequest(sp, 'redirect', {
      query: Object.fromEntries(url.searchParams),
      octetString: redirectSignedOctets(redirectUrl),
    } as never);
    return (parsed.extract as { request: { id: string } }).request.id;
  }

  private idp() {
    return samlify.IdentityProvider({
      entityID: IDP_ENTITY,
      privateKey: this.keys.key,
      signingCert: this.keys.cert,
      singleSignOnService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: IDP_SSO_URL }],
      singleLogoutService: [
        { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${IDP_SSO_URL}/logout` },
      ],
      wantAuthnRequestsSigned: this.wantAuthnRequestsSigned,
      isAssertionEncrypted: this.encrypt,
    });
  }

  /** A signed SAMLResponse (base64), assertion signed by samlify with this IdP's key. `mutate` edits the XML before signing. */
  async response(
    spMetadata: string,
    f: ResponseFields,
    mutate?: (xml: string) => string,
  ): Promise<{ samlResponse: string; assertionId: string }> {
    const now = f.issueInstant ?? new Date();
    const nb = (f.notBefore ?? new Date(now.getTime() - 60_000)).toISOString();
    const noa = (f.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000)).toISOString();
    const id = `_r${randomUUID()}`;
    const assertionId = `_a${randomUUID()}`;
    const irt = f.inResponseTo ? ` InResponseTo="${esc(f.inResponseTo)}"` : '';
    const attrs = Object.entries(f.attributes)
      .map(
        ([name, values]) =>
          `<saml:Attribute Name="${esc(name)}">${values.map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`,
      )
      .join('');
    let xml =
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${now.toISOString()}"${f.destination ? ` Destination="${esc(f.destination)}"` : ''}${irt}>` +
      `<saml:Issuer>${esc(f.issuer ?? IDP_ENTITY)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
      `<saml:Assertion ID="${assertionId}" Version="2.0" IssueInstant="${now.toISOString()}"><saml:Issuer>${esc(f.issuer ?? IDP_ENTITY)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="${esc(f.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress')}">${f.nameId}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${noa}" Recipient="${esc(f.recipient ?? '')}"${irt}/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${nb}" NotOnOrAfter="${noa}"><saml:AudienceRestriction><saml:Audience>${esc(f.audience ?? '')}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${assertionId}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      `<saml:AttributeStatement>${attrs}</saml:AttributeStatement></saml:Assertion></samlp:Response>`;
    if (mutate) xml = mutate(xml);
    const sp = samlify.ServiceProvider({ metadata: spMetadata });
    const out = await this.idp().createLoginResponse(
      sp,
      { extract: { request: { id: f.inResponseTo ?? '' } } },
      'post',
      { email: f.nameId },
      () => ({ id, context: xml }),
    );
    return { samlResponse: (out as { context: string }).context, assertionId };
  }
}

export const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
export const encode = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');

/** XML helpers for the wrapping attacks: edit a signed response without re-signing it. */
export function parse(xml: string): Document {
  return new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
}
export function serialize(doc: Document): string {
  return new XMLSerializer().serializeToString(doc as never);
}
