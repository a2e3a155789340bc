import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  // One row per SSO connection (SAML or OIDC) of an organization.
  await db.schema
    .createTable('sso_connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('preset', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('jit_enabled', 'integer', (c) => c.notNull())
    .addColumn('idp_initiated', 'integer', (c) => c.notNull())
    .addColumn('claims', 'text', (c) => c.notNull())
    .addColumn('oidc_issuer', 'text')
    .addColumn('oidc_client_id', 'text')
    .addColumn('oidc_client_secret', 'text')
    .addColumn('saml_idp_entity_id', 'text')
    .addColumn('saml_idp_sso_url', 'text')
    .addColumn('saml_idp_certs', 'text')
    .addColumn('saml_metadata_url', 'text')
    .addColumn('saml_metadata_refreshed_at', 'text')
    .addColumn('saml_metadata_error', 'text')
    .addColumn('sp_private_key', 'text')
    .addColumn('sp_certificate', 'text')
    .addColumn('last_test_login_at', 'text')
    .addColumn('last_test_login_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sso_connections_org').on('sso_connections').columns(['org_id', 'id']).execute();

  // Login attempts in flight: OIDC state/nonce/PKCE verifier and SAML request ids. Single use, expiring.
  await db.schema
    .createTable('sso_login_states')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text')
    .addColumn('code_verifier', 'text')
    .addColumn('initiated_by', 'text')
    .addColumn('browser_binding', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();

  // SAML assertion ids seen, kept until the assertion expires: a second use is a replay.
  await db.schema
    .createTable('sso_assertion_ids')
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('assertion_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('sso_assertion_ids_pk', ['connection_id', 'assertion_id'])
    .execute();

  // Successful SSO logins: what enforcement checks and what a connection change is simulated against.
  await db.schema
    .createTable('sso_logins')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('attributes', 'text', (c) => c.notNull())
    .addColumn('role', 'text')
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sso_logins_conn').on('sso_logins').columns(['connection_id', 'occurred_at']).execute();

  await db.schema
    .createTable('sso_enforcement')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('organizations.id'))
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('enforced_at', 'text', (c) => c.notNull())
    .addColumn('enforced_by', 'text')
    .execute();

  // Second factor for break-glass sign-in.
  await db.schema
    .createTable('user_totp')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id'))
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('confirmed_at', 'text')
    .addColumn('last_step', 'bigint')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of [
    'user_totp',
    'sso_enforcement',
    'sso_logins',
    'sso_assertion_ids',
    'sso_login_states',
    'sso_connections',
  ])
    await db.schema.dropTable(t).ifExists().execute();
}
