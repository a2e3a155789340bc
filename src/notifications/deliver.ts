import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Ctx, systemCtx } from '../context.js';
import { enqueueEmail } from '../email/outbox.js';
import { notificationEmail } from '../email/templates.js';
import { emailConfigured } from '../email/transport.js';
import { PalisadeError } from '../errors.js';
import { outboundRequest } from '../net/outbound.js';
import { type Message, shownFacts, slackPayload, teamsPayload, webhookPayload, webhookSignature } from './payloads.js';
import { recordAudit } from '../audit/record.js';
import { openChannelSecret } from './secrets.js';
import type { NotificationDeliveriesTable, NotificationsTable } from './tables.js';

/**
 * Sends queued deliveries. Each row is leased on its own (compare-and-set), so several processes
 * share the queue and a crashed sender's rows are taken over when the lease ends; a row is marked
 * sent only after the receiver accepted it (2xx) or the mail was queued in the email outbox (which
 * retries SMTP itself). A failure is retried with backoff (30 s doubling, at most 1 hour) until
 * PALISADE_NOTIFICATION_MAX_ATTEMPTS, or at once dead when the receiver refuses for good (4xx other
 * than 408/429: a deleted Slack webhook answers 404). Dead deliveries stay listed until an admin
 * retries them. Every request carries `Palisade-Delivery: <id>`, the same on each attempt, so a
 * receiver that saw a delivery whose acknowledgement was lost can drop the repeat.
 */
const LEASE_MS = 60_000;
const BATCH = 50;
const OWNER = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

export function notificationBackoffMs(attempts: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.max(0, attempts - 1));
}

type Sys = Pick<Ctx, 'db' | 'clock' | 'config'>;
export interface DeliverySummary {
  sent: number;
  retried: number;
  dead: number;
}

export async function deliverDueNotifications(ctx: Sys, owner = OWNER): Promise<DeliverySummary> {
  const summary: DeliverySummary = { sent: 0, retried: 0, dead: 0 };
  for (;;) {
    const at = ctx.clock.now().toISOString();
    const due = await ctx.db
      .selectFrom('notification_deliveries')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'queued'), eb('next_attempt_at', '<=', at)]),
          eb.and([eb('status', '=', 'sending'), eb('lease_until', '<', at)]),
        ]),
      )
      .orderBy('next_attempt_at')
      .limit(BATCH)
      .execute();
    if (!due.length) return summary;
    let claimed = false;
    for (const { id } of due) {
      const outcome = await deliverOne(ctx, id, owner);
      if (outcome) {
        claimed = true;
        summary[outcome]++;
      }
    }
    if (!claimed || due.length < BATCH) return summary;
  }
}

export function messageOf(n: NotificationsTable): Message {
  return {
    id: n.id,
    orgId: n.org_id,
    type: n.type,
    phase: n.phase,
    severity: n.severity,
    title: n.title,
    facts: JSON.parse(n.facts) as Record<string, unknown>,
    fix: n.fix,
    links: JSON.parse(n.links) as Message['links'],
    createdAt: n.created_at,
    incidentId: n.incident_id,
  };
}

type Attempt =
  | { ok: true; status?: number; emailIds?: string[] }
  | { ok: false; permanent: boolean; error: string; status?: number };

async function deliverOne(ctx: Sys, id: string, owner: string): Promise<keyof DeliverySummary | null> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  const claim = await ctx.db
    .updateTable('notification_deliveries')
    .set((eb) => ({
      status: 'sending',
      lease_owner: owner,
      lease_until: new Date(now.getTime() + LEASE_MS).toISOString(),
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('next_attempt_at', '<=', at)]),
        eb.and([eb('status', '=', 'sending'), eb('lease_until', '<', at)]),
      ]),
    )
    .executeTakeFirst();
  if (Number(claim.numUpdatedRows) !== 1) return null;
  const row = await ctx.db
    .selectFrom('notification_deliveries')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  const n = await ctx.db
    .selectFrom('notifications')
    .selectAll()
    .where('id', '=', row.notification_id)
    .executeTakeFirstOrThrow();
  const m = messageOf(n);
  if (row.channel_kind === 'email') return sendEmail(ctx, row, m, owner);
  let result: Attempt;
  try {
    result = await sendWebhook(ctx, row, m);
  } catch (err) {
    result = { ok: false, permanent: false, error: explain(err) };
  }
  if (result.ok) {
    await ctx.db
      .updateTable('notification_deliveries')
      .set({
        status: 'sent',
        sent_at: ctx.clock.now().toISOString(),
        lease_owner: null,
        lease_until: null,
        last_error: null,
        response_status: result.status ?? null,
      })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
    return 'sent';
  }
  return fail(ctx, row, result, owner);
}

async function fail(
  ctx: Sys,
  row: NotificationDeliveriesTable,
  r: Extract<Attempt, { ok: false }>,
  owner: string,
): Promise<'dead' | 'retried'> {
  const now = ctx.clock.now();
  const attempts = Number(row.attempts);
  const dead = r.permanent || attempts >= ctx.config.notificationMaxAttempts;
  const error = r.error.slice(0, 1000);
  await ctx.db.transaction().execute(async (tx) => {
    const u = await tx
      .updateTable('notification_deliveries')
      .set(
        dead
          ? {
              status: 'dead',
              dead_at: now.toISOString(),
              lease_owner: null,
              lease_until: null,
              last_error: error,
              response_status: r.status ?? null,
            }
          : {
              status: 'queued',
              next_attempt_at: new Date(now.getTime() + notificationBackoffMs(attempts)).toISOString(),
              lease_owner: null,
              lease_until: null,
              last_error: error,
              response_status: r.status ?? null,
            },
      )
      .where('id', '=', row.id)
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    if (dead && Number(u.numUpdatedRows) === 1) {
      await recordAudit(tx, systemCtx(ctx, 'notifications'), {
        orgId: row.org_id,
        action: 'notification.dead_lettered',
        outcome: 'failure',
        targets: [
          { type: 'notification_delivery', id: row.id },
          ...(row.channel_id ? [{ type: 'notification_channel', id: row.channel_id }] : []),
        ],
        metadata: {
          notificationId: row.notification_id,
          channelKind: row.channel_kind,
          attempts,
          error: error.slice(0, 300),
        },
      });
    }
  });
  return dead ? 'dead' : 'retried';
}

async function sendEmail(
  ctx: Sys,
  row: NotificationDeliveriesTable,
  m: Message,
  owner: string,
): Promise<keyof DeliverySummary> {
  const recipients = JSON.parse(row.recipients) as string[];
  if (!emailConfigured(ctx.config))
    return fail(
      ctx,
      row,
      {
        ok: false,
        permanent: true,
        error:
          'email_not_configured: this installation has no mail server (PALISADE_SMTP_URL); route this notification type to a Slack, Teams or webhook channel, or have the operator configure email, then retry.',
      },
      owner,
    );
  if (!recipients.length)
    return fail(
      ctx,
      row,
      {
        ok: false,
        permanent: true,
        error:
          'notification_no_recipients: the organization has no active primary owner or admin to email; add recipients to an email channel and route to it, then retry.',
      },
      owner,
    );
  const content = notificationEmail({
    subject: `[Palisade] ${m.phase === 'resolved' ? 'Resolved' : m.phase === 'reminder' ? 'Reminder' : m.phase === 'warning' ? 'Warning' : m.severity === 'critical' ? 'Action needed' : 'Notice'}: ${m.title}`,
    lead: m.title,
    facts: shownFacts(m),
    fix: m.fix,
    links: m.links,
    footer: `Notification ${m.id} (${m.type}, ${m.severity}). You receive it as a primary owner or admin, or because an email channel of your organization names you.`,
  });
  const sent = await ctx.db
    .transaction()
    .execute(async (tx) => {
      const at = ctx.clock.now();
      const ids: string[] = [];
      for (const to of recipients)
        ids.push(
          (await enqueueEmail(tx, ctx.config, at, { orgId: row.org_id, template: 'notification', to, content })).id,
        );
      const u = await tx
        .updateTable('notification_deliveries')
        .set({
          status: 'sent',
          sent_at: at.toISOString(),
          lease_owner: null,
          lease_until: null,
          last_error: null,
          email_ids: JSON.stringify(ids),
        })
        .where('id', '=', row.id)
        .where('lease_owner', '=', owner)
        .executeTakeFirst();
      // Lost the lease meanwhile: roll the mail back, the new holder queues it.
      if (Number(u.numUpdatedRows) !== 1) throw new Error('lease lost');
      return true;
    })
    .catch(() => false);
  return sent ? 'sent' : 'retried';
}

async function sendWebhook(ctx: Sys, row: NotificationDeliveriesTable, m: Message): Promise<Attempt> {
  const channel = row.channel_id
    ? await ctx.db.selectFrom('notification_channels').selectAll().where('id', '=', row.channel_id).executeTakeFirst()
    : undefined;
  if (!channel)
    return {
      ok: false,
      permanent: true,
      error: 'notification_channel_deleted: the channel was deleted before this notification could be sent.',
    };
  const opened = await openChannelSecret(ctx.db, ctx.config, channel);
  if (!opened.ok) return { ok: false, permanent: true, error: opened.error };
  const payload =
    row.channel_kind === 'slack' ? slackPayload(m) : row.channel_kind === 'teams' ? teamsPayload(m) : webhookPayload(m);
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Palisade-Notifications/1',
    'palisade-delivery': row.id,
    'palisade-notification': m.id,
  };
  if (row.channel_kind === 'webhook' && opened.secret.signingSecret)
    headers['palisade-signature'] = webhookSignature(opened.secret.signingSecret, body, ctx.clock.now());
  const res = await outboundRequest(ctx.config, opened.secret.url, {
    method: 'POST',
    body,
    headers,
    timeoutMs: 10_000,
    maxBytes: 2000,
  });
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
  const text = res.body.toString('utf8').slice(0, 300);
  const where = hostOf(opened.secret.url);
  const redirect =
    res.status >= 300 && res.status < 400
      ? ' (redirects are not followed: set the channel URL to the final address)'
      : '';
  return {
    ok: false,
    permanent: res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429,
    status: res.status,
    error: `${row.channel_kind} receiver ${where} answered HTTP ${res.status}${redirect}: ${text}`,
  };
}

export function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}

function explain(err: unknown): string {
  if (err instanceof PalisadeError) return `${err.code}: ${err.message}`;
  const e = err as Error & { cause?: Error & { code?: string }; code?: string };
  const code = e.code ?? e.cause?.code;
  const text = `${e.message}${code && !e.message.includes(code) ? ` (${code})` : ''}`;
  return code === 'ECONNREFUSED'
    ? `The receiver could not be reached: ${text}. Nothing is listening there: is it running? Delivery is retried.`
    : `The receiver could not be reached: ${text}. Delivery is retried.`;
}
