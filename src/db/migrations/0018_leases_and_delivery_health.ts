import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Leases that follow their holder, and health that can be read from any process:
 * - `job_leases.heartbeat_at`: the holder renews its (short) lease while the job runs; the last
 *   renewal tells an operator whether the holder is alive.
 * - `job_leases.interval_ms`: how often the job is due, so any process (the readiness check, the CLI)
 *   can tell an overdue job from one that is simply not due yet.
 * - `job_leases.consecutive_failures`: failing runs in a row (0 after a success).
 * - `audit_streams.inflight_to_seq`: the last seq of a batch sent but not yet acknowledged. After a
 *   crash, the process that takes over re-sends exactly that range, marked as a redelivery.
 * - `storage_probes`: one row per process, rewritten by the storage probe to learn whether the
 *   database can be written (disk full, read-only) without waiting for a user's write to fail.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('job_leases').addColumn('heartbeat_at', 'text').execute();
  await db.schema.alterTable('job_leases').addColumn('interval_ms', 'bigint').execute();
  await db.schema
    .alterTable('job_leases')
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('audit_streams').addColumn('inflight_to_seq', 'bigint').execute();
  await db.schema
    .createTable('storage_probes')
    .addColumn('node', 'text', (c) => c.primaryKey())
    .addColumn('written_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('storage_probes').ifExists().execute();
  await db.schema.alterTable('audit_streams').dropColumn('inflight_to_seq').execute();
  for (const c of ['consecutive_failures', 'interval_ms', 'heartbeat_at'])
    await db.schema.alterTable('job_leases').dropColumn(c).execute();
}
