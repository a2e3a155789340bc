import type { Ctx } from '../context.js';
import { DAY_MS, DOMAIN_WARN_DAYS } from './catalog.js';
import { domainDraft } from './domain-facts.js';
import type { Draft } from './draft.js';
import { applyDraft } from './engine.js';
import type { NotificationIncidentsTable } from './tables.js';

type Sys = Pick<Ctx, 'db' | 'clock' | 'config'>;

/**
 * Reminders of open incidents, at each incident's cadence, with the facts read again now (a
 * reminder says what is true today, not what was true at the first failure). A failing domain's
 * reminder becomes an "expires in N days" warning on the days its grace period has 7 and 1 days
 * left, so nobody gets two messages on one day.
 */
export async function sendReminders(
  ctx: Sys,
  signal?: AbortSignal,
): Promise<{ reminders: number; closed: number; resolved: number }> {
  const resolved = await resolveByState(ctx);
  const at = ctx.clock.now().toISOString();
  const due = await ctx.db
    .selectFrom('notification_incidents')
    .selectAll()
    .where('status', '=', 'open')
    .where('next_reminder_at', '<=', at)
    .orderBy('next_reminder_at')
    .limit(1000)
    .execute();
  let reminders = 0;
  let closed = 0;
  for (const inc of due) {
    if (signal?.aborted) break;
    const draft = await reminderDraft(ctx, inc);
    if (!draft) {
      // What the incident was about no longer exists (a domain removed, a stream deleted): close it without a message.
      await ctx.db
        .updateTable('notification_incidents')
        .set({ status: 'resolved', resolved_at: at, next_reminder_at: null })
        .where('id', '=', inc.id)
        .where('status', '=', 'open')
        .execute();
      closed++;
      continue;
    }
    if (await ctx.db.transaction().execute((tx) => applyDraft(tx, ctx, draft))) reminders++;
  }
  return { reminders, closed, resolved };
}

/**
 * Some recoveries write no audit event: a metadata refresh that succeeds with unchanged metadata
 * only clears the connection's error. Open incidents of that kind are checked against the state
 * at every pass, and resolved (once) when the error is gone.
 */
async function resolveByState(ctx: Sys): Promise<number> {
  const open = await ctx.db
    .selectFrom('notification_incidents')
    .selectAll()
    .where('status', '=', 'open')
    .where('cause_key', 'like', 'sso_metadata:%')
    .execute();
  let resolved = 0;
  for (const inc of open) {
    const id = inc.cause_key.slice('sso_metadata:'.length);
    const c = await ctx.db
      .selectFrom('sso_connections')
      .select(['id', 'name', 'saml_metadata_error', 'saml_metadata_refreshed_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (
      !c ||
      c.saml_metadata_error !== null ||
      !c.saml_metadata_refreshed_at ||
      c.saml_metadata_refreshed_at < inc.opened_at
    )
      continue;
    const draft: Draft = {
      orgId: inc.org_id,
      type: 'sso.metadata_refresh_failing',
      phase: 'resolved',
      severity: 'info',
      causeKey: inc.cause_key,
      title: `Identity provider metadata for ${c.name} refreshes again`,
      facts: {
        connection: c.name,
        connectionId: c.id,
        failingSince: inc.opened_at,
        resolvedAt: c.saml_metadata_refreshed_at,
      },
      fix: 'Nothing to do: the problem is over.',
      links: [],
      dedupKey: `${inc.id}:resolved`,
    };
    if (await ctx.db.transaction().execute((tx) => applyDraft(tx, ctx, draft))) resolved++;
  }
  return resolved;
}

async function reminderDraft(ctx: Sys, inc: NotificationIncidentsTable): Promise<Draft | null> {
  const now = ctx.clock.now();
  const n = Number(inc.reminders) + 1;
  const [kind, id = ''] = inc.cause_key.split(':');
  if (kind === 'domain') {
    if (inc.type === 'domain.expired') {
      const d = await domainDraft(ctx, inc.org_id, id, 'expired', now);
      if (!d || d.facts.status !== 'expired') return null;
      return { ...d, phase: 'reminder', title: `Still expired: ${d.title}`, dedupKey: `${inc.id}:reminder:${n}` };
    }
    const probe = await domainDraft(ctx, inc.org_id, id, 'reminder', now);
    if (!probe || probe.facts.status !== 'failing') return null;
    const left = probe.facts.daysLeft as number | null;
    const warnAt = left === null ? undefined : [...DOMAIN_WARN_DAYS].sort((a, b) => a - b).find((w) => left <= w);
    if (warnAt !== undefined) {
      const key = `${inc.id}:warn:${warnAt}`;
      const sent = await ctx.db
        .selectFrom('notifications')
        .select('id')
        .where('dedup_key', '=', key)
        .executeTakeFirst();
      if (!sent) {
        const w = await domainDraft(ctx, inc.org_id, id, 'warning', now, {}, warnAt);
        if (w) return { ...w, dedupKey: key };
      }
    }
    return { ...probe, dedupKey: `${inc.id}:reminder:${n}` };
  }
  // Any other incident: the latest alert again, marked as a reminder.
  if (
    kind === 'stream' &&
    !(await ctx.db.selectFrom('audit_streams').select('id').where('id', '=', id).executeTakeFirst())
  )
    return null;
  if (
    kind === 'sso_metadata' &&
    !(await ctx.db.selectFrom('sso_connections').select('id').where('id', '=', id).executeTakeFirst())
  )
    return null;
  const last = await ctx.db
    .selectFrom('notifications')
    .selectAll()
    .where('incident_id', '=', inc.id)
    .where('phase', '=', 'alert')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  if (!last) return null;
  return {
    orgId: inc.org_id,
    type: last.type as Draft['type'],
    phase: 'reminder',
    severity: last.severity,
    causeKey: inc.cause_key,
    remindEveryMs: DAY_MS,
    title: `Still failing since ${inc.opened_at}: ${last.title}`,
    facts: { ...(JSON.parse(last.facts) as Record<string, unknown>), openSince: inc.opened_at, reminder: n },
    fix: last.fix,
    links: JSON.parse(last.links) as Draft['links'],
    dedupKey: `${inc.id}:reminder:${n}`,
  };
}
