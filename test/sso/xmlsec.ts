import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyPair } from './saml-peer.js';

/**
 * xmlsec1 (Debian package xmlsec1), an implementation independent of Palisade's, as signer and
 * verifier. `sign` fills every empty ds:Signature template in the document (see `signatureTemplate`).
 */
function withFiles<T>(files: Record<string, string>, run: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-xmlsec-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ID_ATTRS = [
  '--id-attr:ID',
  'urn:oasis:names:tc:SAML:2.0:assertion:Assertion',
  '--id-attr:ID',
  'urn:oasis:names:tc:SAML:2.0:protocol:Response',
];

export function xmlsecSign(xml: string, keys: KeyPair): string {
  return withFiles({ 'in.xml': xml, 'k.pem': keys.key, 'c.pem': keys.cert }, (dir) => {
    execFileSync(
      'xmlsec1',
      [
        '--sign',
        '--privkey-pem',
        `${join(dir, 'k.pem')},${join(dir, 'c.pem')}`,
        ...ID_ATTRS,
        '--output',
        join(dir, 'out.xml'),
        join(dir, 'in.xml'),
      ],
      { stdio: 'pipe' },
    );
    return readFileSync(join(dir, 'out.xml'), 'utf8');
  });
}

/** Throws unless xmlsec1 verifies the document's signature with the certificate. */
export function xmlsecVerify(xml: string, cert: string): void {
  withFiles({ 'r.xml': xml, 'c.pem': cert }, (dir) => {
    execFileSync('xmlsec1', ['--verify', '--pubkey-cert-pem', join(dir, 'c.pem'), ...ID_ATTRS, join(dir, 'r.xml')], {
      stdio: 'pipe',
    });
  });
}

/** An enveloped-signature template for the element with this ID (exclusive C14N, RSA-SHA256). */
export function signatureTemplate(id: string): string {
  return (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>' +
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>' +
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>' +
    `<ds:Reference URI="#${id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
    '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>' +
    '</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>'
  );
}
