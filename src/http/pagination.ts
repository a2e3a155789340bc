import { Type } from '@sinclair/typebox';
import type { ReferenceExpression, SelectQueryBuilder } from 'kysely';
import type { DB } from '../db/schema.js';
import { badRequest } from '../errors.js';

/**
 * Cursor pagination for every list: opaque cursors that encode the sort key of the last item
 * returned, so pages stay stable while rows are added.
 */
export interface PageRequest {
  limit: number;
  /** Decoded sort key of the last item of the previous page. */
  after: string[] | undefined;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

export const PageQuerySchema = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_LIMIT, description: `Items per page (default ${DEFAULT_LIMIT}).` }),
  ),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor from the previous page.' })),
};

export const pageSchema = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export function encodeCursor(key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string, parts: number): string[] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === parts && parsed.every((p) => typeof p === 'string'))
      return parsed as string[];
  } catch {
    // fall through to the error below
  }
  throw badRequest(
    'invalid_cursor',
    'The cursor is not one this list returned. Start again without a cursor, then pass nextCursor from each page.',
  );
}

export function pageRequest(
  query: { limit?: number | undefined; cursor?: string | undefined },
  keyParts = 1,
): PageRequest {
  return {
    limit: query.limit ?? DEFAULT_LIMIT,
    after: query.cursor ? decodeCursor(query.cursor, keyParts) : undefined,
  };
}

/** Orders by a unique id column and fetches one extra row to know whether another page exists. */
export function pageQuery<TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  idColumn: ReferenceExpression<DB, TB>,
  page: PageRequest,
) {
  const after = page.after?.[0];
  const filtered = after === undefined ? qb : qb.where(idColumn, '>', after as never);
  return filtered.orderBy(idColumn as never).limit(page.limit + 1);
}

export function pageOf<T>(
  rows: T[],
  page: PageRequest,
  keyOf: (row: T) => string[] = (r) => [(r as { id: string }).id],
): Page<T> {
  const data = rows.slice(0, page.limit);
  const last = data[data.length - 1];
  return { data, nextCursor: rows.length > page.limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
