import { Type, type Static } from '@sinclair/typebox';
import { type SelectQueryBuilder, sql } from 'kysely';
import type { AuditEventRow, DB } from '../db/schema.js';
import { sqliteHandleOf } from '../db/connect.js';
import type { Ctx } from '../context.js';
import { badRequest } from '../errors.js';
import { type Page, PageQuerySchema, pageOf, pageRequest } from '../http/pagination.js';
import { authorize } from '../orgs/authorize.js';
import { aliasesMatchingPrefix, storedNamesOf } from './actions.js';
import { type AuditEvent, eventFromRow } from './event.js';
import { sealPendingAudit } from './seal.js';

export const AuditSearchQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ description: 'Earliest time, ISO 8601 (inclusive).' })),
    to: Type.Optional(Type.String({ description: 'Latest time, ISO 8601 (exclusive).' })),
    actor: Type.Optional(Type.String({ maxLength: 254, description: 'Actor id (usr_…) or email.' })),
    action: Type.Optional(
      Type.String({
        maxLength: 200,
        description:
          'Exact action, or a prefix ending in * such as `member.*`. A renamed action also matches the events stored under its former name (see GET /api/v1/audit-actions).',
      }),
    ),
    outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')])),
    target: Type.Optional(Type.String({ maxLength: 200, description: 'Id of a target the event names.' })),
    ip: Type.Optional(Type.String({ maxLength: 64, description: "The actor's IP address, exactly." })),
    order: Type.Optional(
      Type.Union([Type.Literal('desc'), Type.Literal('asc')], {
        description: 'Newest first (desc, default) or oldest first.',
      }),
    ),
    ...PageQuerySchema,
  },
  { additionalProperties: false },
);
export type AuditSearchQuery = Static<typeof AuditSearchQuery>;

export function parseTime(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw badRequest(
      'invalid_time',
      `${name}="${value.slice(0, 40)}" is not a time; use ISO 8601 such as 2026-01-31T00:00:00Z.`,
    );
  return d.toISOString();
}

/** The search filters, shared by search and export so both select exactly the same events. */
export type AuditFilters = Pick<AuditSearchQuery, 'actor' | 'action' | 'outcome' | 'target' | 'ip'>;

/** `q0` must already be limited to `orgId`'s events; the filters narrow it further. */
export function applyAuditFilters<Q extends SelectQueryBuilder<DB, 'audit_events', AuditEventRow>>(
  q0: Q,
  orgId: string,
  query: AuditFilters,
  from: string | undefined,
  to: string | undefined,
  sqlite = false,
): Q {
  let q = q0 as SelectQueryBuilder<DB, 'audit_events', AuditEventRow>;
  if (from) q = q.where('occurred_at', '>=', from);
  if (to) q = q.where('occurred_at', '<', to);
  if (query.actor)
    q = query.actor.includes('@')
      ? q.where('actor_email', '=', query.actor.trim().toLowerCase())
      : q.where('actor_id', '=', query.actor);
  if (query.action) {
    const action = query.action.trim();
    if (action.endsWith('*')) {
      const prefix = action.slice(0, -1);
      if (!/^[a-z0-9_.]*$/.test(prefix))
        throw badRequest(
          'invalid_action_filter',
          'An action filter is a dotted name such as member.role_changed, or a prefix such as member.*',
        );
      // A prefix matches many actions, so an action-index range would have to sort every match by
      // time. On SQLite, `action || ''` keeps the planner on the (org_id, occurred_at, id) index: it
      // reads newest first and stops after one page of matches. PostgreSQL chooses that plan by
      // itself from its statistics, and the expression would only hide them.
      const col = sqlite ? sql<string>`action || ''` : sql<string>`action`;
      // Renamed actions: events stored under a former name match a prefix of the current one, and back.
      const aliases = aliasesMatchingPrefix(prefix);
      if (prefix)
        q = q.where((eb) =>
          eb.or([
            eb.and([eb(col, '>=', prefix), eb(col, '<', `${prefix}\uffff`)]),
            ...(aliases.length ? [eb('action', 'in', aliases)] : []),
          ]),
        );
    } else {
      const names = storedNamesOf(action);
      q = names.length === 1 ? q.where('action', '=', action) : q.where('action', 'in', names);
    }
  }
  if (query.outcome) q = q.where('outcome', '=', query.outcome);
  if (query.ip) q = q.where('actor_ip', '=', query.ip.trim());
  // The targets index holds one row per (event, target id), keyed (org, target, time, event id).
  if (query.target) {
    const target = query.target.trim();
    q = q.where('id', 'in', (eb) => {
      let sub = eb
        .selectFrom('audit_event_targets')
        .select('audit_event_targets.event_id')
        .where('audit_event_targets.org_id', '=', orgId)
        .where('audit_event_targets.target_id', '=', target);
      if (from) sub = sub.where('audit_event_targets.occurred_at', '>=', from);
      if (to) sub = sub.where('audit_event_targets.occurred_at', '<', to);
      return sub;
    });
  }
  return q as Q;
}

/** Rows after the cursor (time, then id) in the page's direction. */
function pastCursor(atColumn: string, idColumn: string, [at, id]: [string, string], desc: boolean) {
  const op = sql.raw(desc ? '<' : '>');
  return sql<boolean>`(${sql.ref(atColumn)} ${op} ${at} or (${sql.ref(atColumn)} = ${at} and ${sql.ref(idColumn)} ${op} ${id}))`;
}

export async function searchAuditEvents(ctx: Ctx, orgId: string, query: AuditSearchQuery): Promise<Page<AuditEvent>> {
  await authorize(ctx, orgId, 'audit.read');
  // The log shows sealed events: what was acknowledged before this search is sealed first.
  await sealPendingAudit(ctx.db, orgId);
  const page = pageRequest(query, 2);
  const from = parseTime(query.from, 'from');
  const to = parseTime(query.to, 'to');
  if (from && to && from >= to) throw badRequest('invalid_time_range', '`from` must be earlier than `to`.');
  const desc = (query.order ?? 'desc') === 'desc';

  const onlyTarget = query.target !== undefined && !query.actor && !query.action && !query.outcome && !query.ip;
  let q = applyAuditFilters(
    ctx.db.selectFrom('audit_events').selectAll().where('org_id', '=', orgId),
    orgId,
    onlyTarget ? { ...query, target: undefined } : query,
    from,
    to,
    sqliteHandleOf(ctx.db) !== undefined,
  );
  const after = page.after as [string, string] | undefined;
  if (onlyTarget) {
    // Target alone (with time and cursor): the page is read off the targets index in search order,
    // newest first, and only its events are fetched; other filters would drop rows from such a page.
    const target = (query.target as string).trim();
    q = q.where('id', 'in', (eb) => {
      let sub = eb
        .selectFrom('audit_event_targets')
        .select('event_id')
        .where('org_id', '=', orgId)
        .where('target_id', '=', target);
      if (from) sub = sub.where('occurred_at', '>=', from);
      if (to) sub = sub.where('occurred_at', '<', to);
      if (after) sub = sub.where(pastCursor('occurred_at', 'event_id', after, desc));
      const d = desc ? 'desc' : 'asc';
      return sub
        .orderBy('occurred_at', d)
        .orderBy('event_id', d)
        .limit(page.limit + 1);
    });
  }
  if (after) q = q.where(pastCursor('occurred_at', 'id', after, desc));
  const dir = desc ? 'desc' : 'asc';
  const rows = await q
    .orderBy('occurred_at', dir)
    .orderBy('id', dir)
    .limit(page.limit + 1)
    .execute();
  return pageOf(rows.map(eventFromRow), page, (e) => [e.occurredAt, e.id]);
}
