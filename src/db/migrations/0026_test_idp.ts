import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * The built-in test identity provider (src/test-idp/):
 * - `test_idp_keys`: its signing key pair, generated once per installation on first use (never a key
 *   shipped in the repository), the private key sealed with the installation's key-encryption key.
 *   Shared by every instance on one database, so any instance signs what the others verify.
 * - `test_idp_codes`: OIDC authorization codes (hashed), single use, short-lived, bound to the
 *   client (connection) and redirect URI and, when sent, the PKCE challenge.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('test_idp_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('certificate', 'text', (c) => c.notNull())
    .addColumn('private_key_ct', 'text', (c) => c.notNull())
    .addColumn('kek_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('test_idp_codes')
    .addColumn('code_hash', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('code_challenge', 'text')
    .addColumn('nonce', 'text')
    .addColumn('claims', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('test_idp_codes').ifExists().execute();
  await db.schema.dropTable('test_idp_keys').ifExists().execute();
}
