import { Type, type Static } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { Queryable } from '../db/schema.js';
import { type ComplianceCall, organizationsOf } from './call.js';
import { complianceError } from './errors.js';
import { arrayParam, listOf } from './query.js';
import { emailsOf } from './store.js';
import { flushGatewayWrites } from '../gateway/write-behind.js';

/**
 * Token usage per organization, user, model and UTC day (or hour), for any range, read from the
 * gateway's rollups (one row per user, model and bucket, written with each request), so a report
 * costs the number of buckets, not the number of requests. A bucket is reported when it overlaps
 * [starting_at, ending_at). JSON pages with `page`/`next_page`; CSV streams the whole report.
 */
const DAY = 86_400_000;
const MAX_LIMIT = 10_000;
const DEFAULT_LIMIT = 1000;
const CSV_BATCH = 5000;

export const UsageQuery = Type.Object(
  {
    starting_at: Type.Optional(
      Type.String({ maxLength: 40, description: 'Start of the range (RFC 3339); default 30 days before ending_at.' }),
    ),
    ending_at: Type.Optional(
      Type.String({ maxLength: 40, description: 'End of the range, exclusive (RFC 3339); default now.' }),
    ),
    bucket_width: Type.Optional(
      Type.Union([Type.Literal('1d'), Type.Literal('1h')], {
        description: '1d (default): per UTC day; 1h: per UTC hour.',
      }),
    ),
    ...arrayParam('organization_ids', 'Only these organizations (each must be visible to the key).'),
    ...arrayParam('user_ids', 'Only these people.'),
    ...arrayParam('models', 'Only these models.'),
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('csv')], {
        description: 'json (default, paged) or csv (the whole report, streamed).',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_LIMIT, description: `JSON rows per page (default ${DEFAULT_LIMIT}).` }),
    ),
    page: Type.Optional(Type.String({ maxLength: 600, description: 'next_page from the previous JSON page.' })),
  },
  { additionalProperties: false },
);
export type UsageQuery = Static<typeof UsageQuery>;

export const UsageRowView = Type.Object({
  starting_at: Type.String(),
  ending_at: Type.String(),
  organization_id: Type.String(),
  user_id: Type.String(),
  email_address: Type.Union([Type.String(), Type.Null()]),
  model: Type.String(),
  requests: Type.Integer(),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
});
export type UsageRowView = Static<typeof UsageRowView>;

interface Plan {
  hourly: boolean;
  orgIds: string[];
  userIds: string[] | undefined;
  models: string[] | undefined;
  /** First and last bucket keys (inclusive): `YYYY-MM-DD` or `YYYY-MM-DDTHH`. */
  from: string;
  to: string;
}

function parseTime(raw: string, name: string): Date {
  const d = new Date(raw);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(d.getTime()))
    throw complianceError(
      'invalid_time',
      `${name}="${raw.slice(0, 40)}" is not a time; use RFC 3339 such as 2026-01-31T00:00:00Z.`,
      { field: name },
    );
  return d;
}

function planOf(call: ComplianceCall, query: UsageQuery): Plan {
  const end = query.ending_at ? parseTime(query.ending_at, 'ending_at') : call.ctx.clock.now();
  const start = query.starting_at ? parseTime(query.starting_at, 'starting_at') : new Date(end.getTime() - 30 * DAY);
  if (start >= end)
    throw complianceError(
      'invalid_time_range',
      `starting_at (${start.toISOString()}) must be before ending_at (${end.toISOString()}).`,
    );
  const hourly = query.bucket_width === '1h';
  const width = hourly ? 13 : 10;
  // The last bucket that starts before the (exclusive) end.
  const last = new Date(end.getTime() - 1).toISOString().slice(0, width);
  return {
    hourly,
    orgIds: organizationsOf(call, listOf(query, 'organization_ids')),
    userIds: listOf(query, 'user_ids'),
    models: listOf(query, 'models'),
    from: start.toISOString().slice(0, width),
    to: last,
  };
}

interface Row {
  bucket: string;
  org_id: string;
  user_id: string;
  model: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
}

type Key = [string, string, string, string];

async function fetchRows(db: Queryable, p: Plan, after: Key | undefined, n: number): Promise<Row[]> {
  // One organization at a time, in id order, each read along its rollup index (organization,
  // bucket, user, model): a page starts where the last ended instead of skipping what came before.
  const orgs = [...p.orgIds].sort().filter((o) => !after || o >= after[0]);
  const out: Row[] = [];
  for (const orgId of orgs) {
    const from = after && after[0] === orgId ? after : undefined;
    out.push(...(await fetchOrgRows(db, p, orgId, from, n - out.length)));
    if (out.length >= n) break;
  }
  return out;
}

async function fetchOrgRows(db: Queryable, p: Plan, orgId: string, after: Key | undefined, n: number): Promise<Row[]> {
  const past = after
    ? sql<boolean>`(${sql.ref(p.hourly ? 'hour' : 'day')}, user_id, model) > (${after[1]}, ${after[2]}, ${after[3]})`
    : undefined;
  let rows: {
    bucket: string;
    org_id: string;
    user_id: string;
    model: string;
    requests: number;
    input_tokens: number;
    output_tokens: number;
  }[];
  if (p.hourly) {
    let q = db
      .selectFrom('gateway_usage_hourly')
      .select(['hour as bucket', 'org_id', 'user_id', 'model', 'requests', 'input_tokens', 'output_tokens'])
      .where('org_id', '=', orgId)
      .where('hour', '>=', after ? after[1] : p.from)
      .where('hour', '<=', p.to);
    if (p.userIds) q = q.where('user_id', 'in', p.userIds);
    if (p.models) q = q.where('model', 'in', p.models);
    if (past) q = q.where(past);
    rows = await q.orderBy('hour').orderBy('user_id').orderBy('model').limit(n).execute();
  } else {
    let q = db
      .selectFrom('gateway_usage')
      .select(['day as bucket', 'org_id', 'user_id', 'model', 'requests', 'input_tokens', 'output_tokens'])
      .where('org_id', '=', orgId)
      .where('day', '>=', after ? after[1] : p.from)
      .where('day', '<=', p.to);
    if (p.userIds) q = q.where('user_id', 'in', p.userIds);
    if (p.models) q = q.where('model', 'in', p.models);
    if (past) q = q.where(past);
    rows = await q.orderBy('day').orderBy('user_id').orderBy('model').limit(n).execute();
  }
  return rows.map((r) => ({
    bucket: String(r.bucket),
    org_id: r.org_id,
    user_id: r.user_id,
    model: r.model,
    requests: Number(r.requests),
    input_tokens: Number(r.input_tokens),
    output_tokens: Number(r.output_tokens),
  }));
}

function bucketBounds(bucket: string, hourly: boolean): [string, string] {
  const start = new Date(hourly ? `${bucket}:00:00.000Z` : `${bucket}T00:00:00.000Z`);
  return [start.toISOString(), new Date(start.getTime() + (hourly ? 3_600_000 : DAY)).toISOString()];
}

function viewsOf(rows: Row[], hourly: boolean, emails: Map<string, string>): UsageRowView[] {
  // Rows come bucket by bucket: the bounds are computed once per bucket.
  const bounds = new Map<string, [string, string]>();
  return rows.map((r) => {
    let b = bounds.get(r.bucket);
    if (!b) bounds.set(r.bucket, (b = bucketBounds(r.bucket, hourly)));
    const [starting_at, ending_at] = b;
    return {
      starting_at,
      ending_at,
      organization_id: r.org_id,
      user_id: r.user_id,
      email_address: emails.get(r.user_id) ?? null,
      model: r.model,
      requests: r.requests,
      input_tokens: r.input_tokens,
      output_tokens: r.output_tokens,
    };
  });
}

function decodePage(page: string | undefined): Key | undefined {
  if (!page) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(page, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 4 && parsed.every((x) => typeof x === 'string'))
      return parsed as Key;
  } catch {
    // fall through
  }
  throw complianceError('invalid_cursor', 'page is not a next_page this report returned. Start again without page.', {
    field: 'page',
  });
}

export async function usageJson(
  call: ComplianceCall,
  query: UsageQuery,
): Promise<{ data: UsageRowView[]; has_more: boolean; next_page: string | null }> {
  const p = planOf(call, query);
  const limit = query.limit ?? DEFAULT_LIMIT;
  // Counters this process has not written yet (src/gateway/write-behind.ts) are part of the report.
  await flushGatewayWrites(call.ctx.db);
  const rows = await fetchRows(call.ctx.db, p, decodePage(query.page), limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const hasMore = rows.length > limit;
  const emails = await emailsOf(
    call.ctx.db,
    page.map((r) => r.user_id),
  );
  return {
    data: viewsOf(page, p.hourly, emails),
    has_more: hasMore,
    next_page:
      hasMore && last
        ? Buffer.from(JSON.stringify([last.org_id, last.bucket, last.user_id, last.model])).toString('base64url')
        : null,
  };
}

export const CSV_COLUMNS = [
  'starting_at',
  'ending_at',
  'organization_id',
  'user_id',
  'email_address',
  'model',
  'requests',
  'input_tokens',
  'output_tokens',
] as const;

/** RFC 4180 field: quoted when it holds a comma, quote or line break; a leading = + - @ is defused for spreadsheets. */
function csvField(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The whole report as CSV, produced batch by batch: memory stays flat whatever the range. */
export async function* usageCsv(call: ComplianceCall, query: UsageQuery): AsyncGenerator<string> {
  const p = planOf(call, query);
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  await flushGatewayWrites(call.ctx.db);
  let after: Key | undefined;
  for (;;) {
    const rows = await fetchRows(call.ctx.db, p, after, CSV_BATCH);
    if (rows.length === 0) return;
    const emails = await emailsOf(
      call.ctx.db,
      rows.map((r) => r.user_id),
    );
    let out = '';
    for (const v of viewsOf(rows, p.hourly, emails)) out += `${CSV_COLUMNS.map((c) => csvField(v[c])).join(',')}\r\n`;
    yield out;
    const last = rows[rows.length - 1] as Row;
    after = [last.org_id, last.bucket, last.user_id, last.model];
    if (rows.length < CSV_BATCH) return;
  }
}

/** Validates the query before a streamed answer starts, so a bad range is a 400, not a broken download. */
export function checkUsageQuery(call: ComplianceCall, query: UsageQuery): void {
  planOf(call, query);
}
