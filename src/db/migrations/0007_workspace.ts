import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  // Per-organization data keys, wrapped by a key-encryption key (local keyring or HSM), versioned.
  await db.schema
    .createTable('org_data_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('kek_id', 'text', (c) => c.notNull())
    .addColumn('wrapped_key', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('rewrapped_at', 'text')
    .addUniqueConstraint('org_data_keys_org_version', ['org_id', 'version'])
    .execute();
  // Crypto-shredding leaves a tombstone so the API can say "shredded" rather than "missing".
  await db.schema
    .createTable('org_key_shreds')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('organizations.id'))
    .addColumn('shredded_at', 'text', (c) => c.notNull())
    .addColumn('shredded_by', 'text')
    .execute();

  await db.schema
    .createTable('workspace_settings')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('organizations.id'))
    .addColumn('retention_days', 'integer')
    .addColumn('no_training', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('ip_allowlist', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('workspace_conversations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('title_ct', 'text')
    .addColumn('key_version', 'integer')
    .addColumn('retention_days', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('last_message_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('workspace_conversations_owner')
    .on('workspace_conversations')
    .columns(['org_id', 'user_id', 'id'])
    .execute();
  await db.schema
    .createIndex('workspace_conversations_age')
    .on('workspace_conversations')
    .columns(['org_id', 'last_message_at'])
    .execute();

  await db.schema
    .createTable('workspace_messages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('conversation_id', 'text', (c) => c.notNull().references('workspace_conversations.id'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('content_ct', 'text', (c) => c.notNull())
    .addColumn('key_version', 'integer', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('model', 'text')
    .addColumn('input_tokens', 'integer')
    .addColumn('output_tokens', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('workspace_messages_conversation')
    .on('workspace_messages')
    .columns(['conversation_id', 'id'])
    .execute();

  await db.schema
    .createTable('workspace_files')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('name_ct', 'text', (c) => c.notNull())
    .addColumn('content_ct', 'text', (c) => c.notNull())
    .addColumn('key_version', 'integer', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('retention_days', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('workspace_files_owner')
    .on('workspace_files')
    .columns(['org_id', 'user_id', 'id'])
    .execute();

  await db.schema
    .createTable('legal_holds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('user_id', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('placed_by', 'text')
    .addColumn('placed_at', 'text', (c) => c.notNull())
    .addColumn('lifted_by', 'text')
    .addColumn('lifted_at', 'text')
    .execute();

  await db.schema
    .createTable('gateway_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('display_prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();

  await db.schema
    .createTable('gateway_upstreams')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('base_url', 'text', (c) => c.notNull())
    .addColumn('credential_ct', 'text')
    .addColumn('key_version', 'integer')
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  // Token usage per user, model and day, for usage reports.
  await db.schema
    .createTable('gateway_usage')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('requests', 'integer', (c) => c.notNull())
    .addColumn('input_tokens', 'bigint', (c) => c.notNull())
    .addColumn('output_tokens', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('gateway_usage_pk', ['org_id', 'user_id', 'day', 'model'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of [
    'gateway_usage',
    'gateway_upstreams',
    'gateway_keys',
    'legal_holds',
    'workspace_files',
    'workspace_messages',
    'workspace_conversations',
    'workspace_settings',
    'org_key_shreds',
    'org_data_keys',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
