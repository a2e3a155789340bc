import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Lockout safety (issue 24).
 *
 * - `sso_identities`: the IdP's stable subject (SAML NameID with the persistent format, OIDC `iss|sub`)
 *   linked to the Palisade account it signed in, per connection; a sign-in is matched on it before the
 *   email, so an address changed at the IdP updates the account instead of creating a second one.
 * - `sso_logins.signing_cert_sha256`: which configured IdP certificate verified a SAML sign-in, so the
 *   lockout guard knows who depends on a certificate a change (or a metadata refresh) would drop.
 * - `sso_connections.saml_held_certs`: certificates the metadata refresh kept beside the IdP's new ones
 *   because recent sign-ins were signed with them; released at the first sign-in with a new one.
 * - `sso_recovery_links`: time-limited, single-use recovery links a primary owner issues for a member
 *   locked out of SSO (only the SHA-256 of the secret is stored).
 * - `sso_logins (org_id, occurred_at)`: the guard replays an organization's recent sign-ins.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('sso_identities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_login_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('sso_identities_subject')
    .on('sso_identities')
    .columns(['connection_id', 'subject'])
    .unique()
    .execute();
  // One subject per account and connection: a second subject claiming the account is a collision.
  await db.schema
    .createIndex('sso_identities_user')
    .on('sso_identities')
    .columns(['connection_id', 'user_id'])
    .unique()
    .execute();

  await db.schema.alterTable('sso_logins').addColumn('signing_cert_sha256', 'text').execute();
  await db.schema.createIndex('sso_logins_org').on('sso_logins').columns(['org_id', 'occurred_at']).execute();
  await db.schema.alterTable('sso_connections').addColumn('saml_held_certs', 'text').execute();

  await db.schema
    .createTable('sso_recovery_links')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('membership_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('issued_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('session_id', 'text')
    .execute();
  await db.schema
    .createIndex('sso_recovery_links_user')
    .on('sso_recovery_links')
    .columns(['org_id', 'user_id'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('sso_recovery_links').ifExists().execute();
  await db.schema.alterTable('sso_connections').dropColumn('saml_held_certs').execute();
  await db.schema.dropIndex('sso_logins_org').ifExists().execute();
  await db.schema.alterTable('sso_logins').dropColumn('signing_cert_sha256').execute();
  await db.schema.dropTable('sso_identities').ifExists().execute();
}
