import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * SIEM destination credentials are sealed with the organization's data key (AES-256-GCM, bound to
 * org, table, stream id and key version). The old `secret` column only ever holds a credential
 * written before this migration; `sealLegacyStreamSecrets` (run by the `streams.deliver` job) seals
 * each into `secret_ct` and empties `secret`. Sealing needs the key-encryption key, which a schema
 * migration does not have, so it happens there and not here.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('audit_streams').addColumn('secret_ct', 'text').execute();
  await db.schema.alterTable('audit_streams').addColumn('secret_key_version', 'integer').execute();
}

/** Dropping the columns drops the sealed credentials: after a downgrade, admins enter them again. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('audit_streams').dropColumn('secret_key_version').execute();
  await db.schema.alterTable('audit_streams').dropColumn('secret_ct').execute();
}
