import type { CompiledQuery } from 'kysely';
import type SQLite from 'better-sqlite3';
import type pg from 'pg';
import { pgPoolOf, sqliteHandleOf } from './connect.js';

/** One row as its cells, in the order of the query's select list. */
export type Cells = (string | number | null)[];

/** Prepared statements in raw mode per database handle (a test run opens many databases). */
const statementsOf = new WeakMap<SQLite.Database, Map<string, SQLite.Statement>>();

/**
 * A compiled query's rows as arrays, straight from the driver of `db` (a cached prepared statement
 * on SQLite, the pool on PostgreSQL); undefined when `db` is not a database opened by
 * src/db/connect.ts (a transaction), and the caller reads through Kysely. For pages of thousands of
 * wide rows (audit export, the Compliance feed), where the driver building one object per row costs
 * more than reading the rows (a third of an export's time).
 */
export async function cellsOf(db: object, query: CompiledQuery): Promise<Cells[] | undefined> {
  const handle = sqliteHandleOf(db);
  if (handle) return sqliteCells(handle, query);
  const pool = pgPoolOf(db);
  return pool ? pgCells(pool, query) : undefined;
}

function sqliteCells(handle: SQLite.Database, query: CompiledQuery): Cells[] {
  let cache = statementsOf.get(handle);
  if (!cache) statementsOf.set(handle, (cache = new Map()));
  let st = cache.get(query.sql);
  if (!st || st.busy) {
    st = handle.prepare(query.sql).raw(true);
    if (cache.size >= 200) cache.delete(cache.keys().next().value as string);
    cache.set(query.sql, st);
  }
  return st.all(query.parameters as unknown[]) as Cells[];
}

/** bigint columns arrive as numbers through the pool's type parser (src/db/connect.ts). */
async function pgCells(pool: pg.Pool, query: CompiledQuery): Promise<Cells[]> {
  const result = await pool.query<Cells>({ text: query.sql, values: [...query.parameters], rowMode: 'array' });
  return result.rows;
}
