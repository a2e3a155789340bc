import { Type, type Static } from '@sinclair/typebox';
import { complianceError } from './errors.js';
import {
  type TimeRange,
  arrayParam,
  cursorOf,
  cursorParams,
  limitParam,
  listOf,
  timeParams,
  timeRangeOf,
} from './query.js';

/**
 * The filters chats and files are listed with: any number of users (or none: everyone), the
 * organizations, a creation-time range and cursors. Newest first; ids are time-ordered, so the
 * cursor is the id itself. Long user lists go in a POST body (…/query) instead of the URL.
 */
export const MAX_CONTENT_LIMIT = 1000;
const DEFAULT_LIMIT = 100;

export const ContentListQuery = Type.Object(
  {
    ...cursorParams,
    ...limitParam(MAX_CONTENT_LIMIT, DEFAULT_LIMIT),
    ...arrayParam('user_ids', 'Only these people (user ids); omit for everyone in the organizations.'),
    ...arrayParam('organization_ids', 'Only these organizations (each must be visible to the key).'),
    ...timeParams('created_at', 'Created'),
  },
  { additionalProperties: false },
);
export type ContentListQuery = Static<typeof ContentListQuery>;

const Ids = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 10_000 });
export const ContentListBody = Type.Object(
  {
    user_ids: Type.Optional(Ids),
    organization_ids: Type.Optional(Ids),
    created_at: Type.Optional(
      Type.Object(
        {
          gte: Type.Optional(Type.String()),
          gt: Type.Optional(Type.String()),
          lte: Type.Optional(Type.String()),
          lt: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    after_id: Type.Optional(Type.String({ maxLength: 64 })),
    before_id: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CONTENT_LIMIT })),
  },
  { additionalProperties: false },
);
export type ContentListBody = Static<typeof ContentListBody>;

/** The body of a POST …/query in the query-string shape, so both spellings run the same code. */
export function bodyAsQuery(body: ContentListBody): ContentListQuery {
  const q: Record<string, unknown> = {};
  if (body.user_ids) q['user_ids[]'] = body.user_ids;
  if (body.organization_ids) q['organization_ids[]'] = body.organization_ids;
  for (const [op, v] of Object.entries(body.created_at ?? {})) if (v !== undefined) q[`created_at.${op}`] = v;
  if (body.after_id !== undefined) q.after_id = body.after_id;
  if (body.before_id !== undefined) q.before_id = body.before_id;
  if (body.limit !== undefined) q.limit = body.limit;
  return q as ContentListQuery;
}

export interface ContentFilters {
  userIds: string[] | undefined;
  organizationIds: string[] | undefined;
  range: TimeRange;
  cursor: { id: string; direction: 'after' | 'before' } | undefined;
  limit: number;
}

export function contentFilters(query: ContentListQuery): ContentFilters {
  const cursor = cursorOf(query);
  if (cursor && !/^[a-z]{3}_[0-9a-z]{10,40}$/.test(cursor.id))
    throw complianceError(
      'invalid_cursor',
      `${cursor.direction}_id is not an id this list returned. Start again without it.`,
      { field: `${cursor.direction}_id` },
    );
  return {
    userIds: listOf(query, 'user_ids'),
    organizationIds: listOf(query, 'organization_ids'),
    range: timeRangeOf(query, 'created_at'),
    cursor,
    limit: query.limit ?? DEFAULT_LIMIT,
  };
}

/** Cursor page envelope from rows fetched limit+1 in the cursor's reading direction. */
export function cursorPage<T extends { id: string }>(
  rows: T[],
  f: ContentFilters,
): { data: T[]; has_more: boolean; first_id: string | null; last_id: string | null } {
  const data = rows.slice(0, f.limit);
  if (f.cursor?.direction === 'before') data.reverse();
  return {
    data,
    has_more: rows.length > f.limit,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
  };
}
