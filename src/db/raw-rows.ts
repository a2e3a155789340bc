import type { CompiledQuery } from 'kysely';
import type SQLite from 'better-sqlite3';
import type pg from 'pg';

/** One row as its cells, in the order of the query's select list. */
export type Cells = (string | number | null)[];

/** Prepared statements in raw mode per database handle (a test run opens many databases). */
const statementsOf = new WeakMap<SQLite.Database, Map<string, SQLite.Statement>>();

/**
 * SQLite: runs a compiled query from a cached prepared statement and returns its rows as arrays.
 * For pages of thousands of wide rows (audit export, the Compliance feed), where better-sqlite3
 * building one object per row costs more than reading the rows (a third of an export's time).
 */
export function sqliteCells(handle: SQLite.Database, query: CompiledQuery): Cells[] {
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

/**
 * PostgreSQL: the same, on a connection of the pool (outside any transaction: a reader that needs
 * one uses Kysely). bigint columns arrive as numbers through the pool's type parser.
 */
export async function pgCells(pool: pg.Pool, query: CompiledQuery): Promise<Cells[]> {
  const result = await pool.query<Cells>({ text: query.sql, values: [...query.parameters], rowMode: 'array' });
  return result.rows;
}
