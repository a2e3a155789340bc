import { Type, type Static } from '@sinclair/typebox';
import { sql } from 'kysely';
import type { Ctx } from '../context.js';
import { containsIgnoringAsciiCase } from '../db/text-search.js';
import type { Db, Queryable } from '../db/schema.js';
import { badRequest } from '../errors.js';
import { decodeCursor, encodeCursor } from '../http/pagination.js';
import { newId } from '../ids.js';
import { authorize } from '../orgs/authorize.js';
import { loadDirectory } from './directories.js';

/**
 * The sync log: one row per SCIM request, with what it did, how it ended, and — when something
 * went wrong or was refused — a plain explanation with the fix. Failures are grouped by cause.
 * Requests refused for their token are the exception: one row per directory per minute, counted
 * (see recordAuthFailure), so bad tokens cannot flood the table.
 */
export interface SyncNote {
  /** info: what a successful request did (a role change); anything else is a warning. */
  level?: 'info';
  cause: string;
  explanation: string;
  group?: string;
  expected?: string;
  user?: string;
}

export interface SyncEntry {
  directoryId: string;
  orgId: string;
  method: string;
  path: string;
  operation: string;
  resourceType: string | null;
  resourceId: string | null;
  userName: string | null;
  groupName: string | null;
  status: number;
  scimType: string | null;
  errorCode: string | null;
  errorDetail: string | null;
  notes: SyncNote[];
  members?: { added: string[]; removed: string[] } | undefined;
  requestId: string;
}

function rowOf(now: Date, e: SyncEntry) {
  const failed = e.status >= 400;
  const warnings = e.notes.filter((n) => n.level !== 'info');
  const shown = warnings.length ? warnings : e.notes;
  const outcome = failed ? 'failure' : warnings.length ? 'warning' : 'success';
  const cause = failed ? e.errorCode : (warnings[0]?.cause ?? null);
  const explanation = failed ? e.errorDetail : shown.length ? shown.map((n) => n.explanation).join(' ') : null;
  return {
    id: newId('ssl', now),
    directory_id: e.directoryId,
    org_id: e.orgId,
    occurred_at: now.toISOString(),
    method: e.method,
    path: e.path.slice(0, 500),
    operation: e.operation,
    resource_type: e.resourceType,
    resource_id: e.resourceId,
    user_name: e.userName?.slice(0, 300) ?? null,
    group_name: e.groupName?.slice(0, 300) ?? null,
    outcome,
    status: e.status,
    scim_type: e.scimType,
    cause,
    explanation: explanation?.slice(0, 4000) ?? null,
    details: JSON.stringify({ notes: e.notes.slice(0, 50), ...(e.members ? { members: e.members } : {}) }),
    request_id: e.requestId,
    occurrences: 1,
    aggregate_key: null,
  };
}

export async function recordSync(db: Queryable, now: Date, e: SyncEntry): Promise<void> {
  await db.insertInto('scim_sync_log').values(rowOf(now, e)).execute();
}

/** Authentication failures of one directory are counted on one sync-log row per window. */
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Source addresses counted one by one on an aggregated row; the rest are summed as otherSources. */
export const AUTH_FAILURE_MAX_SOURCES = 20;

export interface AuthFailureAggregate {
  windowStart: string;
  firstAt: string;
  lastAt: string;
  sources: { ip: string; count: number }[];
  otherSources: number;
}

function aggregateExplanation(detail: string | null, occurrences: number, a: AuthFailureAggregate): string {
  const addresses = a.sources.length + a.otherSources;
  const top = a.sources
    .slice(0, 3)
    .map((s) => `${s.ip} (${s.count})`)
    .join(', ');
  return `${detail ?? 'Authentication failed.'} ${occurrences} request${occurrences === 1 ? '' : 's'} with an invalid token between ${a.firstAt} and ${a.lastAt} from ${addresses} address${addresses === 1 ? '' : 'es'}${top ? `: ${top}` : ''}${addresses > 3 ? ', …' : ''}. Repeated failures are counted on this one entry per minute.`.slice(
    0,
    4000,
  );
}

/**
 * A request refused for its token: at most one sync-log row per directory per minute, whatever
 * the number of requests or source addresses, with the count and the busiest addresses. A wrong
 * token pasted into an identity provider, or someone guessing, cannot fill the table. The unique
 * aggregate key makes concurrent failures (several processes on one PostgreSQL) land on one row.
 */
export async function recordAuthFailure(db: Db, now: Date, e: SyncEntry, ip: string | null): Promise<void> {
  const at = now.toISOString();
  const windowStart = new Date(
    Math.floor(now.getTime() / AUTH_FAILURE_WINDOW_MS) * AUTH_FAILURE_WINDOW_MS,
  ).toISOString();
  const key = `auth:${e.directoryId}:${windowStart}`;
  const source = (ip ?? 'unknown').slice(0, 64);
  await db.transaction().execute(async (tx) => {
    const first: AuthFailureAggregate = {
      windowStart,
      firstAt: at,
      lastAt: at,
      sources: [{ ip: source, count: 1 }],
      otherSources: 0,
    };
    const row = rowOf(now, e);
    const inserted = await tx
      .insertInto('scim_sync_log')
      .values({
        ...row,
        aggregate_key: key,
        explanation: aggregateExplanation(e.errorDetail, 1, first),
        details: JSON.stringify({ notes: [], aggregate: first }),
      })
      .onConflict((oc) => oc.column('aggregate_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) return;
    // The counted update takes the row lock first, so the read-merge-write below is serialized too.
    await tx
      .updateTable('scim_sync_log')
      .set((eb) => ({ occurrences: eb('occurrences', '+', 1) }))
      .where('aggregate_key', '=', key)
      .execute();
    const current = await tx
      .selectFrom('scim_sync_log')
      .select(['occurrences', 'details'])
      .where('aggregate_key', '=', key)
      .executeTakeFirst();
    if (!current) return;
    const parsed = JSON.parse(current.details) as { aggregate?: AuthFailureAggregate };
    const a: AuthFailureAggregate = parsed.aggregate ?? { ...first, sources: [], otherSources: 0 };
    a.lastAt = at > a.lastAt ? at : a.lastAt;
    const known = a.sources.find((s) => s.ip === source);
    if (known) known.count += 1;
    else if (a.sources.length < AUTH_FAILURE_MAX_SOURCES) a.sources.push({ ip: source, count: 1 });
    else a.otherSources += 1;
    a.sources.sort((x, y) => y.count - x.count);
    const occurrences = Number(current.occurrences);
    await tx
      .updateTable('scim_sync_log')
      .set({
        details: JSON.stringify({ notes: [], aggregate: a }),
        explanation: aggregateExplanation(e.errorDetail, occurrences, a),
      })
      .where('aggregate_key', '=', key)
      .execute();
  });
}

export const SyncLogQuery = Type.Object({
  user: Type.Optional(
    Type.String({ maxLength: 300, description: 'userName (substring, case-insensitive) or SCIM user id' }),
  ),
  group: Type.Optional(
    Type.String({ maxLength: 300, description: 'group displayName (substring, case-insensitive) or SCIM group id' }),
  ),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('warning'), Type.Literal('failure')])),
  cause: Type.Optional(Type.String({ maxLength: 100 })),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});
export type SyncLogQuery = Static<typeof SyncLogQuery>;

export const SyncLogEntryView = Type.Object({
  id: Type.String(),
  occurredAt: Type.String(),
  method: Type.String(),
  path: Type.String(),
  operation: Type.String(),
  resourceType: Type.Union([Type.String(), Type.Null()]),
  resourceId: Type.Union([Type.String(), Type.Null()]),
  userName: Type.Union([Type.String(), Type.Null()]),
  groupName: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.String(),
  status: Type.Integer(),
  scimType: Type.Union([Type.String(), Type.Null()]),
  cause: Type.Union([Type.String(), Type.Null()]),
  explanation: Type.Union([Type.String(), Type.Null()]),
  notes: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  members: Type.Optional(Type.Object({ added: Type.Array(Type.String()), removed: Type.Array(Type.String()) })),
  requestId: Type.String(),
  occurrences: Type.Integer({
    description: 'Requests this entry stands for: 1, or the authentication failures of one directory in one minute.',
  }),
  aggregate: Type.Optional(
    Type.Object({
      windowStart: Type.String(),
      firstAt: Type.String(),
      lastAt: Type.String(),
      sources: Type.Array(Type.Object({ ip: Type.String(), count: Type.Integer() })),
      otherSources: Type.Integer({ description: 'Failures from addresses beyond the first 20 seen in the window.' }),
    }),
  ),
});

const iso = (v: string, name: string) => {
  const d = new Date(v);
  if (Number.isNaN(d.getTime()))
    throw badRequest('invalid_time', `"${name}" must be an ISO 8601 time such as 2026-01-01T00:00:00Z.`);
  return d.toISOString();
};

function details(raw: string): {
  notes: Record<string, unknown>[];
  members?: { added: string[]; removed: string[] };
  aggregate?: AuthFailureAggregate;
} {
  const d = JSON.parse(raw) as {
    notes?: Record<string, unknown>[];
    members?: { added: string[]; removed: string[] };
    aggregate?: AuthFailureAggregate;
  };
  return {
    notes: d.notes ?? [],
    ...(d.members ? { members: d.members } : {}),
    ...(d.aggregate ? { aggregate: d.aggregate } : {}),
  };
}

export async function searchSyncLog(ctx: Ctx, orgId: string, directoryId: string, q: SyncLogQuery) {
  await authorize(ctx, orgId, 'scim.manage');
  await loadDirectory(ctx.db, orgId, directoryId);
  const limit = q.limit ?? 50;
  let query = ctx.db
    .selectFrom('scim_sync_log')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('directory_id', '=', directoryId);
  if (q.outcome) query = query.where('outcome', '=', q.outcome);
  if (q.cause) query = query.where('cause', '=', q.cause);
  if (q.from) query = query.where('occurred_at', '>=', iso(q.from, 'from'));
  if (q.to) query = query.where('occurred_at', '<', iso(q.to, 'to'));
  // Substring matches that take `%`, `_` and `\` literally and fold A–Z only, alike on both engines.
  const contains = (column: string, needle: string) => containsIgnoringAsciiCase(ctx.db, sql.ref(column), needle);
  if (q.user) {
    const u = q.user;
    // Group changes list the people they added or removed in details; those match too.
    query = query.where((eb) => eb.or([eb('resource_id', '=', u), contains('user_name', u), contains('details', u)]));
  }
  if (q.group) {
    const g = q.group;
    query = query.where((eb) => eb.or([eb('resource_id', '=', g), contains('group_name', g)]));
  }
  // Newest first.
  if (q.cursor) query = query.where('id', '<', decodeCursor(q.cursor, 1)[0] as string);
  const rows = await query
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    data: page.map((r) => ({
      id: r.id,
      occurredAt: r.occurred_at,
      method: r.method,
      path: r.path,
      operation: r.operation,
      resourceType: r.resource_type,
      resourceId: r.resource_id,
      userName: r.user_name,
      groupName: r.group_name,
      outcome: r.outcome,
      status: Number(r.status),
      scimType: r.scim_type,
      cause: r.cause,
      explanation: r.explanation,
      ...details(r.details),
      requestId: r.request_id,
      occurrences: Number(r.occurrences),
    })),
    nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null,
  };
}

export const ScimSyncProblemsView = Type.Object(
  {
    problems: Type.Array(
      Type.Object({
        cause: Type.String({ description: "Stable key: the error code or the mapping outcome ('unknown' when none)." }),
        outcome: Type.String({ description: 'failure or warning' }),
        count: Type.Integer({ description: 'Requests, counting every one an aggregated row stands for.' }),
        entries: Type.Integer({ description: 'Sync log rows.' }),
        firstSeen: Type.String(),
        lastSeen: Type.String(),
        status: Type.Union([Type.Integer(), Type.Null()]),
        scimType: Type.Union([Type.String(), Type.Null()]),
        explanation: Type.Union([Type.String(), Type.Null()], { description: 'The newest explanation, with the fix.' }),
        users: Type.Array(Type.String(), { description: 'Up to 10 user names affected.' }),
        groups: Type.Array(Type.String(), { description: 'Up to 10 group names affected.' }),
      }),
    ),
  },
  { $id: 'ScimSyncProblemsView' },
);

/** Failures and warnings grouped by cause: 47 failures with one cause are one problem. */
export async function syncProblems(ctx: Ctx, orgId: string, directoryId: string, q: { from?: string | undefined }) {
  await authorize(ctx, orgId, 'scim.manage');
  await loadDirectory(ctx.db, orgId, directoryId);
  let base = ctx.db
    .selectFrom('scim_sync_log')
    .where('org_id', '=', orgId)
    .where('directory_id', '=', directoryId)
    .where('outcome', 'in', ['failure', 'warning']);
  if (q.from) base = base.where('occurred_at', '>=', iso(q.from, 'from'));
  const groups = await base
    // An aggregated row (repeated authentication failures) counts for every request it stands for.
    .select((eb) => [
      'cause',
      'outcome',
      eb.fn.sum<number>('occurrences').as('n'),
      eb.fn.countAll<number>().as('entries'),
      eb.fn.min('occurred_at').as('first_seen'),
      eb.fn.max('occurred_at').as('last_seen'),
    ])
    .groupBy(['cause', 'outcome'])
    .execute();
  const problems = [];
  for (const g of groups) {
    const cause = g.cause ?? 'unknown';
    let sample = base
      .select(['explanation', 'user_name', 'group_name', 'scim_type', 'status'])
      .where('outcome', '=', g.outcome)
      .orderBy('id', 'desc')
      .limit(200);
    sample = g.cause === null ? sample.where('cause', 'is', null) : sample.where('cause', '=', g.cause);
    const rows = await sample.execute();
    const distinct = (xs: (string | null)[]) => [...new Set(xs.filter((x): x is string => !!x))].slice(0, 10);
    problems.push({
      cause,
      outcome: g.outcome,
      count: Number(g.n),
      entries: Number(g.entries),
      firstSeen: String(g.first_seen),
      lastSeen: String(g.last_seen),
      status: rows[0] ? Number(rows[0].status) : null,
      scimType: rows[0]?.scim_type ?? null,
      explanation: rows[0]?.explanation ?? null,
      users: distinct(rows.map((r) => r.user_name)),
      groups: distinct(rows.map((r) => r.group_name)),
    });
  }
  problems.sort((a, b) => b.count - a.count);
  return { problems };
}
