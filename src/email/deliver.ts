import type { PalisadeConfig } from '../config.js';
import type { Ctx } from '../context.js';
import type { Db } from '../db/schema.js';
import { openEmailBody, processOwner } from './outbox.js';
import { emailConfigured, explainSmtpError, isPermanentSmtpFailure, sendMail } from './transport.js';

/**
 * Delivery: each due message is leased on its own row (so several processes share the queue and a
 * crashed sender's messages are picked up when their lease ends), sent with a Message-ID that is the
 * same on every attempt, and marked sent. A failure is retried with exponential backoff (30 s,
 * doubling, at most 2 h) until `emailMaxAttempts`, then the message is dead: kept, listed for
 * admins and the operator, and retried only by hand.
 *
 * "Sent" is recorded only after the server accepted the message. A process killed between the two
 * would send it once more at the next attempt; the unchanged Message-ID lets receivers drop it.
 */
const LEASE_MS = 120_000;
const BATCH = 50;

export function backoffMs(attempts: number): number {
  return Math.min(2 * 3_600_000, 30_000 * 2 ** Math.max(0, attempts - 1));
}

export interface DeliverySummary {
  sent: number;
  retried: number;
  dead: number;
}

export async function deliverDueEmail(
  ctx: Pick<Ctx, 'db' | 'clock' | 'config'>,
  owner = processOwner,
): Promise<DeliverySummary> {
  const summary: DeliverySummary = { sent: 0, retried: 0, dead: 0 };
  if (!emailConfigured(ctx.config)) return summary;
  for (;;) {
    const now = ctx.clock.now();
    const at = now.toISOString();
    const due = await ctx.db
      .selectFrom('email_outbox')
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
    let claimedAny = false;
    for (const { id } of due) {
      const outcome = await deliverOne(ctx.db, ctx.config, ctx.clock.now(), id, owner);
      if (outcome) {
        claimedAny = true;
        summary[outcome] += 1;
      }
    }
    if (!claimedAny || due.length < BATCH) return summary;
  }
}

async function deliverOne(
  db: Db,
  config: PalisadeConfig,
  now: Date,
  id: string,
  owner: string,
): Promise<keyof DeliverySummary | null> {
  const at = now.toISOString();
  // Compare-and-set lease: another process that claimed it first wins.
  const claimed = await db
    .updateTable('email_outbox')
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
  if (Number(claimed.numUpdatedRows) !== 1) return null;
  const row = await db.selectFrom('email_outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const content = await openEmailBody(config, row);
  let error: string;
  let permanent = false;
  if (!content) {
    error =
      'The message body cannot be opened (its key-encryption key is no longer configured, or the row was modified); it cannot be sent.';
    permanent = true;
  } else {
    try {
      const r = await sendMail(config, { to: row.to_address, messageId: row.message_id, content });
      if (r.accepted) {
        await db
          .updateTable('email_outbox')
          .set({
            status: 'sent',
            sent_at: at,
            lease_owner: null,
            lease_until: null,
            last_error: null,
            body_ct: null,
            body_key: null,
          })
          .where('id', '=', id)
          .where('lease_owner', '=', owner)
          .execute();
        return 'sent';
      }
      error = `The SMTP server did not accept the recipient: ${r.response}`;
      permanent = true;
    } catch (err) {
      error = explainSmtpError(config, err);
      permanent = isPermanentSmtpFailure(err);
    }
  }
  const dead = permanent || row.attempts >= config.emailMaxAttempts;
  const later = new Date(now.getTime() + backoffMs(row.attempts)).toISOString();
  await db
    .updateTable('email_outbox')
    .set(
      dead
        ? { status: 'dead', dead_at: at, lease_owner: null, lease_until: null, last_error: error.slice(0, 1000) }
        : {
            status: 'queued',
            next_attempt_at: later,
            lease_owner: null,
            lease_until: null,
            last_error: error.slice(0, 1000),
          },
    )
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .execute();
  return dead ? 'dead' : 'retried';
}
