import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  // Search indexes that end in (occurred_at, id), the sort key, so a filtered first page is read in
  // index order instead of sorting every match; actor email and IP get their own.
  await db.schema.dropIndex('audit_events_org_action').execute();
  await db.schema.dropIndex('audit_events_org_actor').execute();
  await db.schema
    .createIndex('audit_events_org_action_time')
    .on('audit_events')
    .columns(['org_id', 'action', 'occurred_at', 'id'])
    .execute();
  await db.schema
    .createIndex('audit_events_org_actor_time')
    .on('audit_events')
    .columns(['org_id', 'actor_id', 'occurred_at', 'id'])
    .execute();
  await db.schema
    .createIndex('audit_events_org_email_time')
    .on('audit_events')
    .columns(['org_id', 'actor_email', 'occurred_at', 'id'])
    .execute();
  await db.schema
    .createIndex('audit_events_org_ip_time')
    .on('audit_events')
    .columns(['org_id', 'actor_ip', 'occurred_at', 'id'])
    .execute();
  // Per-organization audit settings: retention in days, null meaning "keep forever".
  await db.schema
    .createTable('audit_settings')
    .addColumn('org_id', 'text', (c) => c.primaryKey())
    .addColumn('retention_days', 'integer')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  // Where an organization's chain starts after a purge: the first kept seq and its predecessor hash.
  await db.schema
    .createTable('audit_anchors')
    .addColumn('org_id', 'text', (c) => c.primaryKey())
    .addColumn('first_seq', 'bigint', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('checkpoint_id', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  // Installation-wide Ed25519 signing keys for checkpoints; retired keys stay published.
  await db.schema
    .createTable('audit_signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_pkcs8', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    .execute();

  await db.schema
    .createTable('audit_checkpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_checkpoints_org_seq').on('audit_checkpoints').columns(['org_id', 'seq']).execute();

  // SIEM destinations. The audit table is the outbox: cursor_seq is the last seq delivered.
  await db.schema
    .createTable('audit_streams')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('secret', 'text')
    .addColumn('secret_hint', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('cursor_seq', 'bigint', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text')
    .addColumn('last_success_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', 'text')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_streams_org').on('audit_streams').columns(['org_id']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const i of [
    'audit_events_org_action_time',
    'audit_events_org_actor_time',
    'audit_events_org_email_time',
    'audit_events_org_ip_time',
  ])
    await db.schema.dropIndex(i).ifExists().execute();
  await db.schema
    .createIndex('audit_events_org_action')
    .on('audit_events')
    .columns(['org_id', 'action', 'occurred_at'])
    .execute();
  await db.schema
    .createIndex('audit_events_org_actor')
    .on('audit_events')
    .columns(['org_id', 'actor_id', 'occurred_at'])
    .execute();
  for (const t of ['audit_streams', 'audit_checkpoints', 'audit_signing_keys', 'audit_anchors', 'audit_settings'])
    await db.schema.dropTable(t).ifExists().execute();
}
