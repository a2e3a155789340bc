import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * SCIM deactivation suspends instead of deleting, and repeated SCIM authentication failures are
 * aggregated in the sync log.
 *
 * - `memberships.suspended_at` / `suspended_by_directory_id`: a membership with status `suspended`
 *   keeps its role and history; only the SCIM directory that suspended it (or, once that directory
 *   is deleted, an admin) lifts the suspension. `status` itself is free text already.
 * - `scim_sync_log.occurrences`: how many requests one row stands for (1 for every ordinary row).
 * - `scim_sync_log.aggregate_key`: unique when set, so concurrent auth failures of one directory in
 *   one minute land on one row on both engines (INSERT … ON CONFLICT DO NOTHING, then a counted update).
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('memberships').addColumn('suspended_at', 'text').execute();
  await db.schema.alterTable('memberships').addColumn('suspended_by_directory_id', 'text').execute();
  await db.schema
    .alterTable('scim_sync_log')
    .addColumn('occurrences', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.schema.alterTable('scim_sync_log').addColumn('aggregate_key', 'text').execute();
  await db.schema
    .createIndex('scim_sync_log_aggregate_key')
    .on('scim_sync_log')
    .column('aggregate_key')
    .unique()
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  // Before this migration a SCIM deactivation removed the membership: suspended ones go the same way.
  await db.deleteFrom('memberships').where('status', '=', 'suspended').execute();
  await db.schema.dropIndex('scim_sync_log_aggregate_key').ifExists().execute();
  await db.schema.alterTable('scim_sync_log').dropColumn('aggregate_key').execute();
  await db.schema.alterTable('scim_sync_log').dropColumn('occurrences').execute();
  await db.schema.alterTable('memberships').dropColumn('suspended_by_directory_id').execute();
  await db.schema.alterTable('memberships').dropColumn('suspended_at').execute();
}
