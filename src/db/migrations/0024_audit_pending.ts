import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Append-then-seal audit writes (issue 23). A request transaction appends its events here, beside
 * the change they record; a sealer links them into the organization's chain shortly after
 * (src/audit/seal.ts), so request transactions no longer queue on the chain-head row lock.
 *
 * Expand-only: audit_events is unchanged, and a previous release (which writes audit_events directly
 * under the chain-head lock) and this one can serve side by side during a rolling upgrade; both
 * extend the chain under the same lock.
 *
 * No serial column: ordering is by (occurred_at, id), so `palisade db copy` has no sequence to carry.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('audit_pending')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('actor_type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('actor_email', 'text')
    .addColumn('actor_ip', 'text')
    .addColumn('actor_user_agent', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('targets', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .execute();
  await db.schema
    .createIndex('audit_pending_org')
    .on('audit_pending')
    .columns(['org_id', 'occurred_at', 'id'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  // Pending rows are acknowledged audit events: never dropped unsealed.
  const pending = await db.selectFrom('audit_pending').select('id').limit(1).executeTakeFirst();
  if (pending)
    throw new Error(
      'audit_pending still holds events not yet sealed into their chains; start this release once (or run `palisade audit verify`) so they are sealed, then migrate down.',
    );
  await db.schema.dropTable('audit_pending').ifExists().execute();
}
