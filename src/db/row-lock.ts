import { sql } from 'kysely';
import type { Tx } from './schema.js';

/** The tables whose rows are locked this way, each with the column the no-op UPDATE rewrites to itself. */
const LOCK_COLUMN = {
  organizations: 'updated_at',
  domains: 'updated_at',
  scim_users: 'version',
  scim_groups: 'version',
} as const;

/**
 * Locks the matching row until the transaction ends, so "check then change" rules on it apply in
 * turn: the no-op UPDATE takes a row lock on PostgreSQL; SQLite already runs one write
 * transaction at a time. The one helper for this (engine behaviour stays in db/).
 */
export async function lockRow(tx: Tx, table: keyof typeof LOCK_COLUMN, where: Record<string, string>): Promise<void> {
  const col = sql.ref(LOCK_COLUMN[table]);
  const conditions = Object.entries(where).map(([column, value]) => sql`${sql.ref(column)} = ${value}`);
  await sql`update ${sql.table(table)} set ${col} = ${col} where ${sql.join(conditions, sql` and `)}`.execute(tx);
}
