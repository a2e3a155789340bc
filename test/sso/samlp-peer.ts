import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import samlp from 'samlp';

/**
 * Auth0's samlp as a second, independent SAML identity provider: its own templates, its own signer
 * (xml-crypto 2) and its own encryption, with the options real deployments turn (SHA-1, 3DES,
 * assertion lifetime, an error status next to a signed assertion).
 */
export interface SamlpOptions {
  key: string;
  cert: string;
  issuer: string;
  audience: string;
  recipient: string;
  destination: string;
  inResponseTo?: string;
  user: { id: string; email: string; givenName?: string; familyName?: string; groups?: string[] };
  signatureAlgorithm?: 'rsa-sha256' | 'rsa-sha1';
  digestAlgorithm?: 'sha256' | 'sha1';
  lifetimeInSeconds?: number;
  samlStatusCode?: string;
  signResponse?: boolean;
  encryptionCert?: string;
  encryptionAlgorithm?: string;
}

type GetSamlResponse = (
  config: Record<string, unknown>,
  user: Record<string, unknown>,
  cb: (err: Error | null, xml: string) => void,
) => void;

export async function samlpResponse(o: SamlpOptions): Promise<string> {
  const get = promisify(samlp.getSamlResponse as GetSamlResponse);
  const xml = await get(
    {
      key: o.key,
      cert: o.cert,
      issuer: o.issuer,
      audience: o.audience,
      recipient: o.recipient,
      destination: o.destination,
      ...(o.inResponseTo ? { inResponseTo: o.inResponseTo } : {}),
      signatureAlgorithm: o.signatureAlgorithm ?? 'rsa-sha256',
      digestAlgorithm: o.digestAlgorithm ?? 'sha256',
      lifetimeInSeconds: o.lifetimeInSeconds ?? 300,
      ...(o.samlStatusCode ? { samlStatusCode: o.samlStatusCode } : {}),
      ...(o.signResponse ? { signResponse: true } : {}),
      ...(o.encryptionCert
        ? {
            encryptionCert: o.encryptionCert,
            encryptionPublicKey: publicKeyOf(o.encryptionCert),
            encryptionAlgorithm: o.encryptionAlgorithm ?? 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
            disallowEncryptionWithInsecureAlgorithm: false,
          }
        : {}),
    },
    {
      id: o.user.id,
      emails: [{ value: o.user.email }],
      displayName: o.user.email,
      name: { givenName: o.user.givenName ?? 'Test', familyName: o.user.familyName ?? 'Person' },
      ...(o.user.groups ? { groups: o.user.groups } : {}),
    },
  );
  return Buffer.from(xml, 'utf8').toString('base64');
}

/** samlp wants the RSA public key beside the certificate for encryption. */
const publicKeyOf = (certPem: string): string =>
  new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
