import { Type, type Static } from '@sinclair/typebox';
import { type SelectQueryBuilder, sql } from 'kysely';
import { eventFromRow } from '../audit/event.js';
import { AUDIT_EVENT_COLUMNS, auditRowFromCells } from '../audit/record.js';
import { sqliteHandleOf } from '../db/connect.js';
import { type Cells, cellsOf } from '../db/raw-rows.js';
import type { AuditEventRow, DB } from '../db/schema.js';
import { toOcsf } from '../streams/formats.js';
import { type ComplianceCall, organizationsOf } from './call.js';
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
import { aliasesMatchingPrefix, storedNamesOf } from '../audit/actions.js';
import { sealPendingAudit } from '../audit/seal.js';

/**
 * The activity feed: the audit events of the key's organizations, newest first, with the whole
 * history the audit log holds (not only since the key existed). `after_id` pages towards older
 * events, `before_id` towards newer ones, so a SIEM keeps one cursor and asks for what came since.
 *
 * Order is (occurred_at, id), the audit log's own search order. An event is served only once it is
 * `PALISADE_COMPLIANCE_FEED_DELAY_SECONDS` old: a transaction that stamped its events earlier may
 * still be committing, and serving past it would let a cursor skip those events for good.
 */
export const MAX_ACTIVITY_LIMIT = 5000;
const DEFAULT_LIMIT = 100;
/** Up to this many organizations the page is a merge of per-organization index ranges; beyond, one sorted query. */
const MERGE_MAX_ORGS = 100;

export const ActivitiesQuery = Type.Object(
  {
    ...cursorParams,
    ...limitParam(MAX_ACTIVITY_LIMIT, DEFAULT_LIMIT),
    ...timeParams('created_at', 'Events that occurred'),
    ...arrayParam('organization_ids', 'Only events of these organizations (each must be visible to the key).'),
    ...arrayParam(
      'actor_ids',
      'Only events by these actors: user ids (usr_…), compliance key ids (cmp_…) or email addresses.',
    ),
    ...arrayParam(
      'activity_types',
      'Only these types (audit actions, e.g. member.invited), or prefixes such as member.* .',
    ),
    format: Type.Optional(
      Type.Union([Type.Literal('palisade'), Type.Literal('ocsf')], {
        description:
          'palisade (default): activities as below; ocsf: OCSF 1.1 events, the same mapping as the SIEM streams.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ActivitiesQuery = Static<typeof ActivitiesQuery>;

export const ActivityView = Type.Object({
  id: Type.String(),
  created_at: Type.String(),
  type: Type.String({ description: 'The audit action, e.g. member.role_changed.' }),
  organization_id: Type.String(),
  actor: Type.Object({
    type: Type.String({ description: 'user, api_token, compliance_key, system or anonymous.' }),
    id: Type.Union([Type.String(), Type.Null()]),
    email_address: Type.Union([Type.String(), Type.Null()]),
    ip_address: Type.Union([Type.String(), Type.Null()]),
    user_agent: Type.Union([Type.String(), Type.Null()]),
  }),
  outcome: Type.String({ description: 'success, failure or denied.' }),
  targets: Type.Array(Type.Object({ type: Type.String(), id: Type.String(), name: Type.Optional(Type.String()) })),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  request_id: Type.Union([Type.String(), Type.Null()]),
  sequence: Type.Integer({ description: "Position in the organization's hash chain." }),
  hash: Type.String(),
  prev_hash: Type.String(),
});

const COLUMNS = AUDIT_EVENT_COLUMNS;

interface Filters {
  range: TimeRange;
  horizon: string;
  exactTypes: string[];
  typePrefixes: string[];
  actorIds: string[];
  actorEmails: string[];
  cursor: { at: string; id: string; direction: 'after' | 'before' } | undefined;
}

type Q = SelectQueryBuilder<DB, 'audit_events', Pick<AuditEventRow, (typeof COLUMNS)[number]>>;

type Bound = { at: string; strict: boolean };
const lower = (a: Bound | undefined, b: Bound | undefined) =>
  !a ? b : !b ? a : a.at > b.at || (a.at === b.at && a.strict) ? a : b;
const upper = (a: Bound | undefined, b: Bound | undefined) =>
  !a ? b : !b ? a : a.at < b.at || (a.at === b.at && a.strict) ? a : b;

function narrowed(q0: Q, f: Filters, sqlite: boolean): Q {
  let q = q0;
  // One lower and one upper bound on the time, the tightest of the range, the horizon and the
  // cursor: given several, SQLite may start the index range at a looser one and filter every row
  // from the head of the feed down to the cursor, on every page.
  const cursor = f.cursor ? { at: f.cursor.at, strict: false } : undefined;
  let hi = upper(
    { at: f.horizon, strict: false },
    f.range.lte ? { at: f.range.lte, strict: false } : f.range.lt ? { at: f.range.lt, strict: true } : undefined,
  );
  let lo: Bound | undefined = f.range.gte
    ? { at: f.range.gte, strict: false }
    : f.range.gt
      ? { at: f.range.gt, strict: true }
      : undefined;
  if (f.cursor?.direction === 'after') hi = upper(hi, cursor);
  if (f.cursor?.direction === 'before') lo = lower(lo, cursor);
  if (hi) q = q.where('occurred_at', hi.strict ? '<' : '<=', hi.at);
  if (lo) q = q.where('occurred_at', lo.strict ? '>' : '>=', lo.at);
  if (f.exactTypes.length || f.typePrefixes.length) {
    // See src/audit/search.ts: on SQLite, `action || ''` keeps the planner on the time index.
    const col = sqlite ? sql<string>`action || ''` : sql<string>`action`;
    q = q.where((eb) =>
      eb.or([
        ...(f.exactTypes.length ? [eb('action', 'in', f.exactTypes)] : []),
        ...f.typePrefixes.map((p) => eb.and([eb(col, '>=', p), eb(col, '<', `${p}\uffff`)])),
      ]),
    );
  }
  if (f.actorIds.length || f.actorEmails.length) {
    q = q.where((eb) =>
      eb.or([
        ...(f.actorIds.length ? [eb('actor_id', 'in', f.actorIds)] : []),
        ...(f.actorEmails.length ? [eb('actor_email', 'in', f.actorEmails)] : []),
      ]),
    );
  }
  if (f.cursor) {
    // Within the cursor's millisecond, the id decides (the plain bound above keeps the index range tight).
    const op = sql.raw(f.cursor.direction === 'after' ? '<' : '>');
    const { at, id } = f.cursor;
    q = q.where(sql<boolean>`(occurred_at ${op} ${at} or (occurred_at = ${at} and id ${op} ${id}))`);
  }
  return q;
}

function typeFilters(values: string[] | undefined): { exact: string[]; prefixes: string[] } {
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const v of values ?? []) {
    if (!/^[a-z0-9_.]*\*?$/.test(v) || (!v.endsWith('*') && !v)) {
      throw complianceError(
        'invalid_activity_type',
        `activity_types value "${v.slice(0, 80)}" is not an activity type; use a dotted name such as member.role_changed, or a prefix such as member.* (see docs/audit-log.md for the types).`,
        { value: v.slice(0, 80) },
      );
    }
    // A renamed action matches the events stored under its former names too (and a prefix, them).
    if (v.endsWith('*')) {
      prefixes.push(v.slice(0, -1));
      exact.push(...aliasesMatchingPrefix(v.slice(0, -1)));
    } else exact.push(...storedNamesOf(v));
  }
  // A bare `*` matches everything: no type filter at all.
  if (prefixes.includes('')) return { exact: [], prefixes: [] };
  return { exact: [...new Set(exact)], prefixes };
}

export interface ActivityPage {
  /** The page as JSON text: stored targets and metadata are already canonical JSON and are embedded as they are. */
  json: string;
  count: number;
}

export async function listActivities(call: ComplianceCall, query: ActivitiesQuery): Promise<ActivityPage> {
  const { ctx, key } = call;
  const orgIds = organizationsOf(call, listOf(query, 'organization_ids'));
  for (const orgId of orgIds) await sealPendingAudit(ctx.db, orgId);
  const limit = query.limit ?? DEFAULT_LIMIT;
  const types = typeFilters(listOf(query, 'activity_types'));
  const actors = listOf(query, 'actor_ids') ?? [];
  const range = timeRangeOf(query, 'created_at');
  const horizon = new Date(ctx.clock.now().getTime() - ctx.config.complianceFeedDelaySeconds * 1000).toISOString();
  const c = cursorOf(query);
  let cursor: Filters['cursor'];
  if (c) {
    // The cursor is an event the key can see (in any of its organizations: a filter may have changed).
    const at = key.orgIds.length
      ? await ctx.db
          .selectFrom('audit_events')
          .select(['occurred_at', 'id'])
          .where('id', '=', c.id)
          .where('org_id', 'in', key.orgIds)
          .executeTakeFirst()
      : undefined;
    if (!at) {
      throw complianceError(
        'invalid_cursor',
        `${c.direction}_id "${c.id.slice(0, 64)}" is not an activity this key can see: it may be mistyped, or removed by audit retention. Start again with created_at.gte set to the time you last processed.`,
        {
          field: `${c.direction}_id`,
        },
      );
    }
    cursor = { at: at.occurred_at, id: at.id, direction: c.direction };
  }
  const f: Filters = {
    range,
    horizon,
    exactTypes: types.exact,
    typePrefixes: types.prefixes,
    actorIds: actors.filter((a) => !a.includes('@')),
    actorEmails: actors.filter((a) => a.includes('@')).map((a) => a.toLowerCase()),
    cursor,
  };
  const rows = orgIds.length ? await fetchRows(ctx.db, orgIds, f, limit + 1) : [];
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  // before_id reads upwards (oldest first) to find the events right after the cursor; the page is still shown newest first.
  if (cursor?.direction === 'before') page.reverse();
  const ocsf = query.format === 'ocsf';
  const items = page.map((r) => (ocsf ? JSON.stringify(toOcsf(eventFromRow(auditRowFromCells(r)))) : activityJson(r)));
  const first = (page[0]?.[0] as string | undefined) ?? null;
  const last = (page[page.length - 1]?.[0] as string | undefined) ?? null;
  return {
    json: `{"data":[${items.join(',')}],"has_more":${hasMore},"first_id":${JSON.stringify(first)},"last_id":${JSON.stringify(last)}}`,
    count: page.length,
  };
}

async function fetchRows(db: ComplianceCall['ctx']['db'], orgIds: string[], f: Filters, n: number): Promise<Cells[]> {
  const sqlite = sqliteHandleOf(db) !== undefined;
  const dir = f.cursor?.direction === 'before' ? 'asc' : 'desc';
  const base = () => db.selectFrom('audit_events').select([...COLUMNS]);
  let query;
  if (orgIds.length === 1 || orgIds.length > MERGE_MAX_ORGS) {
    const q =
      orgIds.length === 1 ? base().where('org_id', '=', orgIds[0] as string) : base().where('org_id', 'in', orgIds);
    query = narrowed(q, f, sqlite).orderBy('occurred_at', dir).orderBy('id', dir).limit(n);
  } else {
    // One index range per organization, merged by the database (SQLite: a merge of co-routines;
    // PostgreSQL: Merge Append): each range is read only as far as the page needs.
    let compound = narrowed(base().where('org_id', '=', orgIds[0] as string), f, sqlite);
    for (const orgId of orgIds.slice(1))
      compound = compound.unionAll(narrowed(base().where('org_id', '=', orgId), f, sqlite));
    query = compound.orderBy('occurred_at', dir).orderBy('id', dir).limit(n);
  }
  // Rows as arrays in COLUMNS order; a page is a thousand rows of sixteen columns, and objects per
  // row would cost more than the read.
  const cells = await cellsOf(db, query.compile());
  if (cells) return cells;
  const rows = await query.execute();
  return rows.map((r) => COLUMNS.map((c) => r[c] as string | number | null));
}

const s = (v: string | null) => (v === null ? 'null' : JSON.stringify(v));

/** Cells in COLUMNS order: id org_id seq occurred_at actor_type actor_id actor_email actor_ip actor_user_agent action targets outcome metadata request_id prev_hash hash. */
function activityJson(c: Cells): string {
  const t = (i: number) => s(c[i] as string | null);
  return (
    `{"id":${t(0)},"created_at":${t(3)},"type":${t(9)},"organization_id":${t(1)},` +
    `"actor":{"type":${t(4)},"id":${t(5)},"email_address":${t(6)},"ip_address":${t(7)},"user_agent":${t(8)}},` +
    `"outcome":${t(11)},"targets":${c[10] as string},"metadata":${c[12] as string},"request_id":${t(13)},"sequence":${Number(c[2])},"hash":${t(15)},"prev_hash":${t(14)}}`
  );
}
