import { SYSTEM_CHAIN, eventFromRow } from '../audit/event.js';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { newId } from '../ids.js';
import type { Draft } from './draft.js';
import { draftsForEvent } from './from-audit.js';
import { targetsFor } from './routing.js';
import type { NotificationIncidentsTable } from './tables.js';
import { sealAllPendingAudit } from '../audit/seal.js';

/**
 * Turns drafts into notifications, one incident per cause:
 * - an `alert` with a cause opens an incident, or, when one is open, is sent only if it is worse
 *   than what was announced (a higher `stage`: failing → expired, failed → circuit open → dead
 *   letter) — the same problem reported again is not repeated; reminders follow the cadence;
 * - a `resolved` draft closes the open incident and is sent once; without an open incident it is
 *   dropped (nothing was announced, so nothing needs resolving);
 * - a one-off (no cause) is sent as is.
 * Every notification gets one delivery per target channel, written in the same transaction, and a
 * unique dedup key: a pass that runs twice (or in two processes) creates nothing twice.
 */
type Sys = Pick<Ctx, 'db' | 'clock' | 'config'>;

export async function openIncident(
  db: Queryable,
  orgId: string,
  causeKey: string,
): Promise<NotificationIncidentsTable | undefined> {
  return db
    .selectFrom('notification_incidents')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('cause_key', '=', causeKey)
    .where('status', '=', 'open')
    .executeTakeFirst();
}

/** Writes one notification and its deliveries; false when its dedup key exists already. */
export async function createNotification(
  tx: Queryable,
  ctx: Sys,
  d: Draft,
  incidentId: string | null,
): Promise<string | null> {
  const exists = await tx
    .selectFrom('notifications')
    .select('id')
    .where('dedup_key', '=', d.dedupKey)
    .executeTakeFirst();
  if (exists) return null;
  const now = ctx.clock.now();
  const at = now.toISOString();
  const id = newId('ntf', now);
  await tx
    .insertInto('notifications')
    .values({
      id,
      org_id: d.orgId,
      type: d.type,
      phase: d.phase,
      severity: d.severity,
      cause_key: d.causeKey,
      incident_id: incidentId,
      dedup_key: d.dedupKey,
      title: d.title.slice(0, 300),
      facts: JSON.stringify(d.facts),
      fix: d.fix,
      links: JSON.stringify(d.links),
      source_event_id: d.sourceEventId ?? null,
      created_at: at,
    })
    .execute();
  for (const t of await targetsFor(tx, d.orgId, d.type, d.severity)) {
    await tx
      .insertInto('notification_deliveries')
      .values({
        id: newId('ndl', now),
        notification_id: id,
        org_id: d.orgId,
        channel_id: t.channelId,
        channel_kind: t.kind,
        recipients: JSON.stringify(t.recipients),
        status: t.digest && d.severity === 'info' ? 'digest' : 'queued',
        attempts: 0,
        next_attempt_at: at,
        lease_owner: null,
        lease_until: null,
        last_error: null,
        response_status: null,
        email_ids: null,
        created_at: at,
        sent_at: null,
        dead_at: null,
      })
      .execute();
  }
  return id;
}

export async function applyDraft(tx: Queryable, ctx: Sys, d: Draft): Promise<string | null> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  if (!d.causeKey) return createNotification(tx, ctx, d, null);
  const open = await openIncident(tx, d.orgId, d.causeKey);
  const next = (ms: number | null | undefined) => (ms ? new Date(now.getTime() + ms).toISOString() : null);
  if (d.phase === 'resolved') {
    if (!open) return null;
    await tx
      .updateTable('notification_incidents')
      .set({ status: 'resolved', resolved_at: at, next_reminder_at: null, last_notified_at: at })
      .where('id', '=', open.id)
      .execute();
    return createNotification(tx, ctx, d, open.id);
  }
  if (d.phase === 'alert') {
    if (!open) {
      const id = newId('nin', now);
      await tx
        .insertInto('notification_incidents')
        .values({
          id,
          org_id: d.orgId,
          cause_key: d.causeKey,
          type: d.type,
          status: 'open',
          opened_at: at,
          last_notified_at: at,
          next_reminder_at: next(d.remindEveryMs),
          reminders: 0,
          resolved_at: null,
          facts: JSON.stringify({ stage: d.stage ?? 1 }),
        })
        .execute();
      return createNotification(tx, ctx, d, id);
    }
    // Sent again only when it is worse than what was announced (failing → expired, failed → dead-lettered).
    const stage = Number((JSON.parse(open.facts) as { stage?: number }).stage ?? 1);
    if ((d.stage ?? 1) <= stage) return null;
    await tx
      .updateTable('notification_incidents')
      .set({
        type: d.type,
        last_notified_at: at,
        next_reminder_at: next(d.remindEveryMs),
        facts: JSON.stringify({ stage: d.stage }),
      })
      .where('id', '=', open.id)
      .execute();
    return createNotification(tx, ctx, d, open.id);
  }
  // reminder / warning of an open incident
  if (!open) return null;
  const created = await createNotification(tx, ctx, d, open.id);
  if (created)
    await tx
      .updateTable('notification_incidents')
      .set({ last_notified_at: at, next_reminder_at: next(d.remindEveryMs), reminders: Number(open.reminders) + 1 })
      .where('id', '=', open.id)
      .execute();
  return created;
}

const EVENT_BATCH = 500;

/**
 * Reads each organization's audit chain forward from its cursor (the audit table is the outbox, as
 * for SIEM streams) and applies the drafts its events produce. The cursor moves in the same
 * transaction as the notifications of the batch: a crash re-reads the batch, and dedup keys keep
 * it from creating anything twice.
 */
export async function dispatchAuditEvents(
  ctx: Sys,
  signal?: AbortSignal,
): Promise<{ events: number; notifications: number }> {
  let events = 0;
  let notifications = 0;
  // Notifications follow the sealed chain: events appended and not yet sealed (a job's, a moment
  // ago) are sealed first, so none waits for the next run.
  await sealAllPendingAudit(ctx.db);
  const heads = await ctx.db
    .selectFrom('audit_chain_heads')
    .leftJoin('notification_cursors', 'notification_cursors.org_id', 'audit_chain_heads.org_id')
    .select([
      'audit_chain_heads.org_id as orgId',
      'audit_chain_heads.seq as head',
      'notification_cursors.cursor_seq as cursor',
    ])
    .where('audit_chain_heads.org_id', '!=', SYSTEM_CHAIN)
    .execute();
  for (const h of heads) {
    let cursor = Number(h.cursor ?? 0);
    const head = Number(h.head);
    while (cursor < head) {
      if (signal?.aborted) return { events, notifications };
      const rows = await ctx.db
        .selectFrom('audit_events')
        .selectAll()
        .where('org_id', '=', h.orgId)
        .where('seq', '>', cursor)
        .orderBy('seq')
        .limit(EVENT_BATCH)
        .execute();
      const last = rows.length ? Number(rows[rows.length - 1]!.seq) : head;
      const drafts: Draft[] = [];
      for (const r of rows) drafts.push(...(await draftsForEvent(ctx, eventFromRow(r))));
      await ctx.db.transaction().execute(async (tx) => {
        for (const d of drafts) if (await applyDraft(tx, ctx, d)) notifications++;
        const at = ctx.clock.now().toISOString();
        await tx
          .insertInto('notification_cursors')
          .values({ org_id: h.orgId, cursor_seq: last, updated_at: at })
          .onConflict((oc) => oc.column('org_id').doUpdateSet({ cursor_seq: last, updated_at: at }))
          .execute();
      });
      events += rows.length;
      cursor = last;
    }
  }
  return { events, notifications };
}
