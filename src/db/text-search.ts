import { type Expression, type RawBuilder, type SqlBool, SqliteAdapter, sql } from 'kysely';
import type { Queryable } from './schema.js';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

/** Lower-cases A–Z only, as SQLite's lower() does: the one case rule both engines share. */
export const foldAsciiCase = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** The text as a LIKE pattern that matches it anywhere, with `\`, `%` and `_` taken literally. */
export const containsPattern = (s: string): string => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * `column` contains `needle`, ignoring the case of A–Z and nothing else, the same on both engines:
 * SQLite's lower() folds only ASCII (no ICU), and PostgreSQL's lower()/ILIKE fold whatever the
 * database's locale says, so PostgreSQL folds with translate() over A–Z instead. "É" and "é" are
 * therefore different letters on both. The escape character is named because SQLite has none by
 * default (PostgreSQL's is `\`).
 */
export function containsIgnoringAsciiCase(
  db: Queryable,
  column: Expression<unknown>,
  needle: string,
): RawBuilder<SqlBool> {
  const pattern = containsPattern(foldAsciiCase(needle));
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  const folded = sqlite ? sql`lower(${column})` : sql`translate(${column}, ${UPPER}, ${LOWER})`;
  return sql<SqlBool>`${folded} like ${pattern} escape '\\'`;
}
