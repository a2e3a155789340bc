import { type CryptoKey, importPKCS8, importX509 } from 'jose';
import type { PalisadeConfig } from '../config.js';
import type { Clock } from '../clock.js';
import { keyProviderFor } from '../crypto/provider.js';
import type { Queryable } from '../db/schema.js';
import { normalizeCertificate } from '../sso/idp-metadata.js';
import { publicJwk } from '../sso/oidc-client.js';
import { generateSpKeyPair } from '../sso/sp-keys.js';

/**
 * The test identity provider's signing key: one RSA key pair per installation, generated on first
 * use and stored in `test_idp_keys` (the private key sealed with the installation's key-encryption
 * key, associated data binding the row), so every instance on one database signs alike and a
 * restart keeps the certificate connections trust. No key ships in the repository.
 */
export interface TestIdpKey {
  kid: string;
  certificatePem: string;
  /** Body of the certificate (no PEM armour), as SAML metadata and connections store it. */
  certificateBody: string;
  privateKeyPem: string;
  signingKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: Awaited<ReturnType<typeof publicJwk>>;
}

const ROW_ID = 'current';
const aad = (kid: string) => Buffer.from(`palisade-test-idp|v1|test_idp_keys|${ROW_ID}|${kid}`);
/** Opened once per process and configuration (the key is the same for the installation's lifetime). */
const cache = new WeakMap<PalisadeConfig, Promise<TestIdpKey>>();

async function open(db: Queryable, config: PalisadeConfig, clock: Clock): Promise<TestIdpKey> {
  let row = await db.selectFrom('test_idp_keys').selectAll().where('id', '=', ROW_ID).executeTakeFirst();
  if (!row) {
    const now = clock.now();
    const pair = await generateSpKeyPair('Palisade test identity provider (not for production)', now);
    const kid = (await publicJwk(pair.certificatePem)).kid;
    const { kekId, wrapped } = await keyProviderFor(config).wrap(Buffer.from(pair.privateKeyPem, 'utf8'), aad(kid));
    // Two instances generating at once: the first insert wins and both read it back.
    await db
      .insertInto('test_idp_keys')
      .values({
        id: ROW_ID,
        kid,
        certificate: pair.certificatePem,
        private_key_ct: wrapped.toString('base64'),
        kek_id: kekId,
        created_at: now.toISOString(),
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    row = await db.selectFrom('test_idp_keys').selectAll().where('id', '=', ROW_ID).executeTakeFirstOrThrow();
  }
  const privateKeyPem = (
    await keyProviderFor(config).unwrap(row.kek_id, Buffer.from(row.private_key_ct, 'base64'), aad(row.kid))
  ).toString('utf8');
  return {
    kid: row.kid,
    certificatePem: row.certificate,
    certificateBody: normalizeCertificate(row.certificate),
    privateKeyPem,
    signingKey: await importPKCS8(privateKeyPem, 'RS256'),
    publicKey: await importX509(row.certificate, 'RS256'),
    jwk: await publicJwk(row.certificate),
  };
}

export function testIdpKey(db: Queryable, config: PalisadeConfig, clock: Clock): Promise<TestIdpKey> {
  let key = cache.get(config);
  if (!key) {
    key = open(db, config, clock);
    // A failure (database or key provider down) is not remembered: the next request tries again.
    key.catch(() => cache.delete(config));
    cache.set(config, key);
  }
  return key;
}
