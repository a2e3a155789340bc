import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Two additions:
 * - SAML connections may sign their AuthnRequests (HTTP-Redirect binding signature, RSA-SHA256,
 *   with the connection's SP key). `saml_sign_authn_requests` is the setting (0 for existing
 *   connections: their IdPs accept unsigned requests today); `saml_idp_wants_signed_requests`
 *   remembers what the IdP metadata said (WantAuthnRequestsSigned; null when the connection was
 *   configured field by field, or before the next metadata refresh).
 * - `rate_limit_counters`: fixed-window request counters shared by every process on the database
 *   (login discovery per client address, manual domain verification per domain).
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable('sso_connections')
    .addColumn('saml_sign_authn_requests', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('sso_connections').addColumn('saml_idp_wants_signed_requests', 'integer').execute();
  await db.schema
    .createTable('rate_limit_counters')
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('window_start', 'text', (c) => c.notNull())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limit_counters_pk', ['bucket', 'key'])
    .execute();
  await db.schema.createIndex('rate_limit_counters_window').on('rate_limit_counters').column('window_start').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('rate_limit_counters').execute();
  await db.schema.alterTable('sso_connections').dropColumn('saml_idp_wants_signed_requests').execute();
  await db.schema.alterTable('sso_connections').dropColumn('saml_sign_authn_requests').execute();
}
