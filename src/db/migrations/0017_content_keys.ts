import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Crypto-erasure for the workspace (src/crypto/content-keys.ts):
 * - `content_keys`: one random AES-256 key per conversation and per file, wrapped by the
 *   organization's data key; deleting the row erases everything sealed under it.
 * - `content_key_id` on conversations, messages and files: the key a record is sealed with (null:
 *   sealed directly under the organization data key `key_version`, as before this migration;
 *   such rows are re-sealed under content keys by the `workspace.reseal_legacy_content` job).
 * - `gateway_upstreams.allowed_models`: the models the organization allows (JSON array of names or
 *   `prefix*` patterns; null: every model the provider offers).
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('content_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('dk_version', 'integer', (c) => c.notNull())
    .addColumn('wrapped_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('content_keys_org').on('content_keys').columns(['org_id', 'dk_version']).execute();
  await db.schema.alterTable('workspace_conversations').addColumn('content_key_id', 'text').execute();
  await db.schema.alterTable('workspace_messages').addColumn('content_key_id', 'text').execute();
  await db.schema.alterTable('workspace_files').addColumn('content_key_id', 'text').execute();
  await db.schema.alterTable('gateway_upstreams').addColumn('allowed_models', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('gateway_upstreams').dropColumn('allowed_models').execute();
  await db.schema.alterTable('workspace_files').dropColumn('content_key_id').execute();
  await db.schema.alterTable('workspace_messages').dropColumn('content_key_id').execute();
  await db.schema.alterTable('workspace_conversations').dropColumn('content_key_id').execute();
  await db.schema.dropTable('content_keys').execute();
}
