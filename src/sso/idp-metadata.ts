import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { badRequest } from '../errors.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

export interface IdpMetadata {
  entityId: string;
  ssoUrl: string;
  /** PEM bodies (base64, no armour) of the signing certificates; two during a rollover. */
  certificates: string[];
  /** The IDPSSODescriptor's WantAuthnRequestsSigned: the IdP refuses AuthnRequests without a signature. */
  wantAuthnRequestsSigned: boolean;
}

/** Reads what Palisade needs from an IdP's SAML metadata document; says what is missing otherwise. */
export function parseIdpMetadata(xml: string): IdpMetadata {
  let doc: Document;
  try {
    doc = new DOMParser({ onError: () => undefined }).parseFromString(xml, 'text/xml') as unknown as Document;
  } catch {
    throw badRequest(
      'invalid_idp_metadata',
      'The IdP metadata is not well-formed XML. Download it again from your identity provider and paste it unchanged.',
    );
  }
  const entity = doc.getElementsByTagNameNS(MD, 'EntityDescriptor')[0];
  const entityId = entity?.getAttribute('entityID');
  if (!entity || !entityId)
    throw badRequest(
      'invalid_idp_metadata',
      'The IdP metadata has no EntityDescriptor with an entityID. Paste the IdP (not the SP) metadata document.',
    );
  const idp = entity.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0];
  if (!idp)
    throw badRequest(
      'invalid_idp_metadata',
      'The metadata describes no identity provider (no IDPSSODescriptor). Paste the metadata of the IdP application.',
    );
  const services = Array.from(idp.getElementsByTagNameNS(MD, 'SingleSignOnService'));
  const sso =
    services.find((s) => s.getAttribute('Binding') === REDIRECT) ??
    services.find((s) => s.getAttribute('Binding') === POST);
  const ssoUrl = sso?.getAttribute('Location');
  if (!ssoUrl)
    throw badRequest(
      'invalid_idp_metadata',
      'The IdP metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding.',
    );
  const certificates: string[] = [];
  for (const kd of Array.from(idp.getElementsByTagNameNS(MD, 'KeyDescriptor'))) {
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const c of Array.from(kd.getElementsByTagNameNS(DS, 'X509Certificate')))
      certificates.push(normalizeCertificate(c.textContent ?? ''));
  }
  if (!certificates.length)
    throw badRequest(
      'invalid_idp_metadata',
      'The IdP metadata carries no signing certificate (KeyDescriptor use="signing"). Palisade requires signed assertions.',
    );
  // xs:boolean: "true" or "1" (absent means false).
  const want = (idp.getAttribute('WantAuthnRequestsSigned') ?? '').trim();
  return {
    entityId,
    ssoUrl,
    certificates: [...new Set(certificates)].slice(0, 2),
    wantAuthnRequestsSigned: want === 'true' || want === '1',
  };
}

/** Accepts PEM or bare base64 and returns the bare base64 body, after checking it parses as X.509. */
export function normalizeCertificate(raw: string): string {
  const body = raw.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  try {
    new X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    throw badRequest(
      'invalid_certificate',
      'A signing certificate is not a valid X.509 certificate. Paste it as PEM (-----BEGIN CERTIFICATE-----…).',
    );
  }
  return body;
}

export function certificateInfo(body: string): { fingerprintSha256: string; subject: string; notAfter: string } {
  const cert = new X509Certificate(Buffer.from(body, 'base64'));
  return {
    fingerprintSha256: cert.fingerprint256,
    subject: cert.subject,
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

export const toPem = (body: string) =>
  `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? body}\n-----END CERTIFICATE-----\n`;
