import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import type { PalisadeConfig } from '../config.js';
import { PalisadeError } from '../errors.js';
import { testIdpSamlEntityId, testIdpSamlSsoUrl } from '../sso/test-idp-policy.js';
import type { TestIdpKey } from './keys.js';
import type { TestIdentity } from './form.js';

/**
 * The test IdP's SAML side: its metadata, reading the service provider's AuthnRequest, and minting
 * the signed response Palisade's own service provider (src/sso/saml.ts) accepts as from
 * any other IdP: the assertion signed (RSA-SHA256, exclusive c14n), answering the request
 * (InResponseTo on the response and the bearer confirmation), for Palisade's entity id (audience)
 * and ACS URL (Destination, Recipient), valid five minutes.
 */
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const LIFETIME_MS = 5 * 60_000;

const xmlEscape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);

export function metadataXml(config: PalisadeConfig, key: TestIdpKey): string {
  const sso = xmlEscape(testIdpSamlSsoUrl(config));
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${xmlEscape(testIdpSamlEntityId(config))}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${key.certificateBody}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${sso}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${sso}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`;
}

export interface AuthnRequest {
  id: string;
  issuer: string;
  acsUrl: string | null;
}

const invalid = (why: string) =>
  new PalisadeError(
    400,
    'test_idp_request_invalid',
    `The test identity provider could not use this sign-in request: ${why}. Start signing in again from Palisade.`,
  );

/** Reads an AuthnRequest: deflated (HTTP-Redirect) or not (HTTP-POST), base64. Nothing in it is trusted beyond naming the connection. */
export function parseAuthnRequest(encoded: string, binding: 'redirect' | 'post'): AuthnRequest {
  let xml: string;
  try {
    const raw = Buffer.from(encoded, 'base64');
    xml = (binding === 'redirect' ? inflateRawSync(raw, { maxOutputLength: 64 * 1024 }) : raw).toString('utf8');
  } catch {
    throw invalid('SAMLRequest is not a base64 (and, for the redirect binding, deflated) message');
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw invalid('the request declares a document type');
  let doc: Document;
  try {
    doc = new DOMParser({ onError: () => undefined }).parseFromString(xml, 'text/xml') as unknown as Document;
  } catch {
    throw invalid('SAMLRequest is not XML');
  }
  const root = doc.documentElement;
  if (!root || root.localName !== 'AuthnRequest' || root.namespaceURI !== SAMLP)
    throw invalid('it is not a samlp:AuthnRequest');
  const id = root.getAttribute('ID') ?? '';
  // It comes back as InResponseTo: an XML ID (NCName), short.
  if (!/^[A-Za-z_][\w.-]{0,199}$/.test(id)) throw invalid('the request ID is not an XML ID');
  const issuer = Array.from(root.childNodes).find(
    (n): n is Element =>
      n.nodeType === 1 && (n as Element).localName === 'Issuer' && (n as Element).namespaceURI === SAML,
  );
  const issuerValue = (issuer?.textContent ?? '').trim();
  if (!issuerValue) throw invalid('the request names no Issuer');
  return { id, issuer: issuerValue, acsUrl: root.getAttribute('AssertionConsumerServiceURL') || null };
}

const samlId = () => `_${randomBytes(20).toString('hex')}`;

/** A signed samlp:Response for one person, answering `inResponseTo`, base64-encoded for the HTTP-POST binding. */
export function mintResponse(
  config: PalisadeConfig,
  key: TestIdpKey,
  p: { inResponseTo: string; audience: string; acsUrl: string; identity: TestIdentity; now: Date },
): string {
  const issuer = xmlEscape(testIdpSamlEntityId(config));
  const now = p.now.toISOString();
  const until = new Date(p.now.getTime() + LIFETIME_MS).toISOString();
  const acs = xmlEscape(p.acsUrl);
  const assertionId = samlId();
  const attr = (name: string, values: string[]) =>
    values.length
      ? `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values
          .map(
            (v) =>
              `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${xmlEscape(v)}</saml:AttributeValue>`,
          )
          .join('')}</saml:Attribute>`
      : '';
  const id = p.identity;
  const assertion =
    `<saml:Assertion xmlns:saml="${SAML}" ID="${assertionId}" Version="2.0" IssueInstant="${now}">` +
    `<saml:Issuer>${issuer}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${xmlEscape(id.email)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${xmlEscape(p.inResponseTo)}" NotOnOrAfter="${until}" Recipient="${acs}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${now}" NotOnOrAfter="${until}"><saml:AudienceRestriction><saml:Audience>${xmlEscape(p.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${now}" SessionIndex="${samlId()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement>${attr('email', [id.email])}${attr('firstName', id.firstName ? [id.firstName] : [])}${attr('lastName', id.lastName ? [id.lastName] : [])}${attr('groups', id.groups)}</saml:AttributeStatement>` +
    `</saml:Assertion>`;
  const sig = new SignedXml({
    privateKey: key.privateKeyPem,
    publicCert: key.certificatePem,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({
    xpath: `//*[local-name(.)='Assertion' and @ID='${assertionId}']`,
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
  });
  // The signature goes right after the assertion's Issuer, where the SAML schema puts it.
  sig.computeSignature(assertion, {
    prefix: 'ds',
    location: { reference: `//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']`, action: 'after' },
  });
  const response =
    `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${samlId()}" Version="2.0" IssueInstant="${now}" Destination="${acs}" InResponseTo="${xmlEscape(p.inResponseTo)}">` +
    `<saml:Issuer>${issuer}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    sig.getSignedXml() +
    `</samlp:Response>`;
  return Buffer.from(response, 'utf8').toString('base64');
}
