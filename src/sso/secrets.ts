import type { PalisadeConfig } from '../config.js';
import { type RecordRef, openText, sealFor } from '../crypto/data-keys.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { fail } from './diagnosis.js';
import type { SsoConnectionsTable } from './tables.js';

/**
 * The secrets of an SSO connection at rest: the OIDC client secret and the SAML SP private key are
 * sealed with the organization's data key (AES-256-GCM, src/crypto/data-keys.ts). Each secret is
 * bound to its own column name, the connection id, the organization and the key version, so a
 * ciphertext moved to another column (the SP key presented as a client secret), another connection
 * or another organization fails to open. This file is the only place that opens them; route
 * handlers and views never see more than "is it set".
 */
export type ConnectionSecret = 'oidc_client_secret' | 'sp_private_key';

type Owner = Pick<SsoConnectionsTable, 'id' | 'org_id'>;
type SealedColumns = Pick<
  SsoConnectionsTable,
  'oidc_client_secret_ct' | 'oidc_client_secret_key_version' | 'sp_private_key_ct' | 'sp_private_key_key_version'
>;

export const connectionSecretRef = (conn: Owner, secret: ConnectionSecret): RecordRef => ({
  orgId: conn.org_id,
  table: `sso_connections.${secret}`,
  recordId: conn.id,
});

export async function sealConnectionSecret(
  db: Queryable,
  config: PalisadeConfig,
  now: Date,
  conn: Owner,
  secret: ConnectionSecret,
  plaintext: string,
): Promise<{ ct: string; keyVersion: number }> {
  return sealFor(db, config, now, connectionSecretRef(conn, secret), plaintext);
}

const WHAT: Record<ConnectionSecret, { label: string; remedy: (conn: Owner) => string }> = {
  oidc_client_secret: {
    label: 'OIDC client secret',
    remedy: (c) =>
      `enter the client secret again (PATCH /api/v1/orgs/${c.org_id}/sso/connections/${c.id} with {"oidc":{"clientSecret":"…"}})`,
  },
  sp_private_key: {
    label: 'service-provider private key (SAML decryption and request signing, OIDC private_key_jwt)',
    remedy: () =>
      'create the connection again (it gets a new SP key) and give the identity provider the new SP metadata',
  },
};

/**
 * Opens one sealed secret of a connection. Absent: null. Crypto-shredded organization:
 * `sso_secret_shredded` (409). Modified, moved or relabelled ciphertext, or a value that was never
 * sealed: `sso_secret_integrity_failed` (500). Both are SsoFailures, so a sign-in shows a page with
 * a reference and the admin finds what to do in the audit event; the secret itself never appears.
 */
async function openConnectionSecret(
  db: Queryable,
  config: PalisadeConfig,
  conn: Owner & SealedColumns,
  secret: ConnectionSecret,
): Promise<string | null> {
  const ct = secret === 'oidc_client_secret' ? conn.oidc_client_secret_ct : conn.sp_private_key_ct;
  const version =
    secret === 'oidc_client_secret' ? conn.oidc_client_secret_key_version : conn.sp_private_key_key_version;
  if (ct === null) return null;
  const label = WHAT[secret].label;
  const remedy = WHAT[secret].remedy(conn);
  const check = `${label} of the connection can be decrypted`;
  const integrity = () =>
    fail(
      'sso_secret_integrity_failed',
      'This sign-in method is unavailable because its stored credentials failed an integrity check. Your administrator has been given the details.',
      check,
      {
        expected: 'ciphertext sealed for this organization, connection and column',
        received: 'modified, moved or relabelled ciphertext',
        detail: `Palisade refused to use it. Restore it from a backup, or ${remedy}.`,
      },
      500,
    );
  if (version === null) throw integrity();
  let text: string | null;
  try {
    text = await openText(db, config, connectionSecretRef(conn, secret), ct, Number(version));
  } catch (err) {
    if (err instanceof PalisadeError && err.code === 'content_integrity_failed') throw integrity();
    throw err;
  }
  if (text === null) {
    throw fail(
      'sso_secret_shredded',
      "This sign-in method is unavailable: its stored credentials were destroyed together with this organization's encryption keys. Ask your administrator to set it up again.",
      check,
      {
        expected: 'a live data key',
        received: 'crypto-shredded data key',
        detail: `The ${label} was sealed with a data key that was destroyed (crypto-shredding). An administrator must ${remedy}.`,
      },
      409,
    );
  }
  return text;
}

/** The OIDC client secret, for the discovery/token calls to the IdP ('' when none is stored). */
export async function oidcClientSecret(
  db: Queryable,
  config: PalisadeConfig,
  conn: Owner & SealedColumns,
): Promise<string> {
  return (await openConnectionSecret(db, config, conn, 'oidc_client_secret')) ?? '';
}

/** The connection's own private key (PEM): decrypts SAML assertions, signs AuthnRequests and private_key_jwt assertions; null when it has none. */
export async function spPrivateKey(
  db: Queryable,
  config: PalisadeConfig,
  conn: Owner & SealedColumns,
): Promise<string | null> {
  return openConnectionSecret(db, config, conn, 'sp_private_key');
}
