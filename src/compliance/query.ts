import { Type, type TSchema } from '@sinclair/typebox';
import { complianceError } from './errors.js';

/**
 * Query parameters in the Compliance API's shapes: repeatable filters as `name[]=a&name[]=b` (or
 * `name=a&name=b`), time ranges as `created_at.gte` / `.gt` / `.lte` / `.lt`, cursors as `after_id`
 * / `before_id`.
 */
export const MAX_FILTER_VALUES = 10_000;

const Id = Type.String({ minLength: 1, maxLength: 254 });
const IdList = Type.Union([Id, Type.Array(Id)]);

/** `name[]` and `name` for one repeatable filter. */
export function arrayParam(name: string, description: string): Record<string, TSchema> {
  return { [`${name}[]`]: Type.Optional(Type.Array(Id, { description })), [name]: Type.Optional(IdList) };
}

export function timeParams(field: string, what: string): Record<string, TSchema> {
  const t = (op: string, words: string) =>
    Type.Optional(Type.String({ maxLength: 40, description: `${what} ${words} this time (RFC 3339).` }));
  return {
    [`${field}.gte`]: t('gte', 'at or after'),
    [`${field}.gt`]: t('gt', 'after'),
    [`${field}.lte`]: t('lte', 'at or before'),
    [`${field}.lt`]: t('lt', 'before'),
  };
}

export const cursorParams = {
  after_id: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Return the items that come after this id in the list order (the next page: pass last_id).',
    }),
  ),
  before_id: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'Return the items that come before this id in the list order (the previous page: pass first_id).',
    }),
  ),
};

export const limitParam = (max: number, dflt: number) => ({
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: max, description: `Items per page (default ${dflt}, at most ${max}).` }),
  ),
});

type Query = Record<string, unknown>;

/** The values of a repeatable filter from either spelling; undefined when not given. */
export function listOf(query: Query, name: string): string[] | undefined {
  const raw = [query[`${name}[]`], query[name]].flat().filter((v): v is string => typeof v === 'string');
  if (raw.length === 0) return undefined;
  const values = [...new Set(raw.map((v) => v.trim()).filter(Boolean))];
  if (values.length > MAX_FILTER_VALUES) {
    throw complianceError(
      'too_many_filter_values',
      `${name} has ${values.length} values; send at most ${MAX_FILTER_VALUES} per request and split larger lists over several requests.`,
      { field: name, max: MAX_FILTER_VALUES },
    );
  }
  return values;
}

export interface TimeRange {
  /** Inclusive lower bound. */
  gte?: string;
  gt?: string;
  /** Inclusive upper bound. */
  lte?: string;
  lt?: string;
}

function parseTime(raw: string, name: string): string {
  const d = new Date(raw);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(d.getTime())) {
    throw complianceError(
      'invalid_time',
      `${name}="${raw.slice(0, 40)}" is not a time; use RFC 3339 such as 2026-01-31T00:00:00Z.`,
      { field: name },
    );
  }
  return d.toISOString();
}

export function timeRangeOf(query: Query, field: string): TimeRange {
  const out: TimeRange = {};
  for (const op of ['gte', 'gt', 'lte', 'lt'] as const) {
    const raw = query[`${field}.${op}`];
    if (typeof raw === 'string') out[op] = parseTime(raw, `${field}.${op}`);
  }
  const low = out.gt ?? out.gte;
  const high = out.lt ?? out.lte;
  if ((out.gt && out.gte) || (out.lt && out.lte))
    throw complianceError(
      'invalid_time_range',
      `Give at most one lower bound (${field}.gt or .gte) and one upper bound (${field}.lt or .lte).`,
    );
  if (low && high && (low > high || (low === high && (out.gt || out.lt)))) {
    throw complianceError(
      'invalid_time_range',
      `The range is empty: its lower bound ${low} is not before its upper bound ${high}.`,
    );
  }
  return out;
}

/** after_id or before_id, never both. */
export function cursorOf(query: {
  after_id?: string | undefined;
  before_id?: string | undefined;
}): { id: string; direction: 'after' | 'before' } | undefined {
  if (query.after_id && query.before_id)
    throw complianceError('conflicting_cursors', 'Send after_id (next page) or before_id (previous page), not both.');
  if (query.after_id) return { id: query.after_id, direction: 'after' };
  if (query.before_id) return { id: query.before_id, direction: 'before' };
  return undefined;
}

/** The page envelope of cursor lists: data in list order, whether more follow in the direction asked, and the ids at both ends. */
export function cursorPageSchema(item: TSchema) {
  return Type.Object({
    data: Type.Array(item),
    has_more: Type.Boolean({
      description:
        'More items follow in the direction asked (after last_id for after_id or no cursor; before first_id for before_id).',
    }),
    first_id: Type.Union([Type.String(), Type.Null()]),
    last_id: Type.Union([Type.String(), Type.Null()]),
  });
}
