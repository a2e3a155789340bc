import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('domains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('unicode_name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('include_subdomains', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('auto_join', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('token', 'text', (c) => c.notNull())
    // Set to the name while the domain is verified or failing, null otherwise: the unique index makes
    // "one organization per domain" hold even when two organizations verify at the same instant.
    .addColumn('claim_key', 'text', (c) => c.unique())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('verified_at', 'text')
    .addColumn('last_checked_at', 'text')
    .addColumn('last_good_check_at', 'text')
    .addColumn('failing_since', 'text')
    .addColumn('grace_until', 'text')
    .addColumn('expired_at', 'text')
    .addColumn('last_diagnosis', 'text')
    .addUniqueConstraint('domains_org_name', ['org_id', 'name'])
    .execute();
  await db.schema.createIndex('domains_name').on('domains').columns(['name', 'status']).execute();
  await db.schema.createIndex('domains_status').on('domains').columns(['status', 'id']).execute();

  // Every challenge value ever issued, kept after a domain is removed: a near-miss diagnosis can then
  // say "this is an older value of your organization" or "this value belongs to another organization".
  await db.schema
    .createTable('domain_challenges')
    .addColumn('token', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('domain_name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    .execute();

  // Webhook-ready records of each state transition; a delivery worker can read forward by id.
  await db.schema
    .createTable('domain_notifications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('domain_id', 'text', (c) => c.notNull())
    .addColumn('domain_name', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'text')
    .execute();
  await db.schema
    .createIndex('domain_notifications_org')
    .on('domain_notifications')
    .columns(['org_id', 'id'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of ['domain_notifications', 'domain_challenges', 'domains'])
    await db.schema.dropTable(t).ifExists().execute();
}
