import { sql } from 'kysely';
import { sqliteHandleOf } from './connect.js';
import type { Queryable } from './schema.js';

/**
 * After a transaction that destroyed content keys commits: on SQLite, copies the WAL into the
 * database file and truncates it to zero bytes, so no earlier frame holding a destroyed key's
 * page survives in the -wal file (`secure_delete` already zeroed it in the page itself). Must run
 * outside a transaction (on the root database, never a transaction object). PostgreSQL keeps dead tuples until VACUUM and WAL until it is recycled;
 * there the content key's destruction is what makes those copies unreadable (docs/workspace.md).
 */
export async function flushErasedPages(db: Queryable): Promise<{ checkpointed: boolean; busy: boolean }> {
  if (!sqliteHandleOf(db)) return { checkpointed: false, busy: false };
  // Through Kysely, not the raw handle: it waits for the connection, so a transaction another
  // request holds open finishes first instead of this checkpoint being skipped.
  const r = await sql<{ busy: number }>`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
  return { checkpointed: true, busy: (r.rows[0]?.busy ?? 0) !== 0 };
}
