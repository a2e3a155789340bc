import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Ctx } from '../context.js';
import { type AuditEvent, eventFromRow } from '../audit/event.js';
import { recordAudit } from '../audit/record.js';
import type { AuditStreamsTable } from '../audit/tables.js';
import { openStreamSecret, sealLegacyStreamSecrets } from './secrets.js';
import { type DeliveryResult, type Destination, type StreamSettings, deliver } from './transports.js';

/**
 * Delivery reads the audit table forward from each destination's cursor (the table is the outbox):
 * a batch is sent, and only after the receiver accepts it does the cursor move, in one UPDATE. A
 * crash between the two re-sends the batch (at-least-once; event ids let the SIEM deduplicate).
 * One destination is worked by one process at a time, under a lease in its row.
 */
export const BATCH_SIZE = 200;
/** Failures in a row that open the circuit (attempts continue, spaced by the capped backoff). */
export const CIRCUIT_THRESHOLD = 5;
/** Failures in a row (or one permanent refusal) after which the destination stops until an admin retries it. */
export const DEAD_LETTER_THRESHOLD = 50;
const BASE_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 5 * 60_000;
const LEASE_MS = 60_000;
const OWNER = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/** Exponential backoff with full jitter: uniform in [base/2, base·2^(n-1)] capped at 5 minutes. */
export function backoffMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

type Sys = Pick<Ctx, 'db' | 'clock' | 'caller' | 'meta' | 'config'>;

/** The destination with its credential opened for this delivery, or the failure to record instead (shredded keys, tampered ciphertext). */
export async function openDestination(ctx: Pick<Ctx, 'db' | 'config'>, row: AuditStreamsTable): Promise<{ ok: true; dest: Destination } | { ok: false; result: DeliveryResult }> {
  const opened = await openStreamSecret(ctx.db, ctx.config, row);
  if (!opened.ok) return { ok: false, result: { ok: false, permanent: opened.permanent, error: opened.error } };
  return { ok: true, dest: { id: row.id, kind: row.kind, format: row.format, settings: JSON.parse(row.settings) as StreamSettings, secret: opened.secret } };
}

/** Opens the credential and sends; any failure (including one to open the credential) is a failed result, never an exception. */
export async function deliverRow(ctx: Pick<Ctx, 'db' | 'config'>, row: AuditStreamsTable, events: AuditEvent[], now: Date): Promise<DeliveryResult> {
  try {
    const opened = await openDestination(ctx, row);
    if (!opened.ok) return opened.result;
    return await deliver(ctx.config, opened.dest, events, now);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message.slice(0, 500) : String(err) };
  }
}

export interface StreamRunSummary {
  streamId: string;
  delivered: number;
  ok: boolean;
  error?: string;
}

/** Delivers whatever one destination has pending, up to maxBatches. Returns undefined when another process holds it. */
export async function deliverStream(ctx: Sys, streamId: string, maxBatches = 50): Promise<StreamRunSummary | undefined> {
  const now = () => ctx.clock.now();
  const at = now().toISOString();
  const claimed = await ctx.db
    .updateTable('audit_streams')
    .set({ lease_owner: OWNER, lease_until: new Date(now().getTime() + LEASE_MS).toISOString() })
    .where('id', '=', streamId)
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]))
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) return undefined;
  let delivered = 0;
  try {
    for (let b = 0; b < maxBatches; b++) {
      const row = await ctx.db.selectFrom('audit_streams').selectAll().where('id', '=', streamId).executeTakeFirstOrThrow();
      const cursor = Number(row.cursor_seq);
      const rows = await ctx.db.selectFrom('audit_events').selectAll().where('org_id', '=', row.org_id).where('seq', '>', cursor).orderBy('seq').limit(BATCH_SIZE).execute();
      if (!rows.length) return { streamId, delivered, ok: true };
      const events = rows.map(eventFromRow);
      const result = await deliverRow(ctx, row, events, now());
      if (!result.ok) {
        await recordFailure(ctx, row, result, events[0]!.seq);
        return { streamId, delivered, ok: false, error: result.error ?? 'delivery failed' };
      }
      const lastSeq = events[events.length - 1]!.seq;
      const recovered = row.failures > 0;
      await ctx.db.transaction().execute(async (tx) => {
        // The cursor only moves forward, and only for the holder of the lease.
        await tx
          .updateTable('audit_streams')
          .set({ cursor_seq: lastSeq, failures: 0, next_attempt_at: null, last_success_at: now().toISOString(), updated_at: now().toISOString() })
          .where('id', '=', streamId)
          .where('cursor_seq', '=', cursor)
          .where('lease_owner', '=', OWNER)
          .execute();
        if (recovered) {
          await recordAudit(tx, ctx, {
            orgId: row.org_id,
            action: 'stream.recovered',
            targets: [{ type: 'audit_stream', id: row.id, name: row.name }],
            metadata: { kind: row.kind, failuresBefore: row.failures, since: row.last_error_at },
          });
        }
      });
      delivered += events.length;
    }
    return { streamId, delivered, ok: true };
  } finally {
    await ctx.db.updateTable('audit_streams').set({ lease_owner: null, lease_until: null }).where('id', '=', streamId).where('lease_owner', '=', OWNER).execute();
  }
}

async function recordFailure(ctx: Sys, row: AuditStreamsTable, result: DeliveryResult, firstSeq: number): Promise<void> {
  const failures = row.failures + 1;
  const now = ctx.clock.now();
  const deadLetter = result.permanent === true || failures >= DEAD_LETTER_THRESHOLD;
  const error = (result.error ?? `HTTP ${result.status}`).slice(0, 2000);
  await ctx.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('audit_streams')
      .set({
        failures,
        // Only ever moves to dead_letter here: an admin's pause during the attempt stays.
        ...(deadLetter ? { status: 'dead_letter' as const } : {}),
        next_attempt_at: new Date(now.getTime() + backoffMs(failures)).toISOString(),
        last_error: error,
        last_error_at: now.toISOString(),
        updated_at: now.toISOString(),
      })
      .where('id', '=', row.id)
      .execute();
    // Audit the transitions, not every retry: the first failure, the circuit opening, the dead letter.
    const target = [{ type: 'audit_stream', id: row.id, name: row.name }];
    const metadata = { kind: row.kind, failures, pendingFromSeq: firstSeq, status: result.status ?? null, error: error.slice(0, 300) };
    if (deadLetter) await recordAudit(tx, ctx, { orgId: row.org_id, action: 'stream.dead_lettered', outcome: 'failure', targets: target, metadata });
    else if (failures === 1 || failures === CIRCUIT_THRESHOLD) {
      await recordAudit(tx, ctx, { orgId: row.org_id, action: failures === 1 ? 'stream.delivery_failed' : 'stream.circuit_opened', outcome: 'failure', targets: target, metadata });
    }
  });
}

/** The delivery job: every active destination whose backoff has elapsed. */
export async function deliverDue(ctx: Sys): Promise<{ streams: number; delivered: number; failed: number }> {
  // Credentials stored in clear before they were sealed at rest (migration 0009) are sealed first.
  await sealLegacyStreamSecrets(ctx);
  const at = ctx.clock.now().toISOString();
  const due = await ctx.db
    .selectFrom('audit_streams')
    .select('id')
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', at)]))
    .orderBy('id')
    .execute();
  let delivered = 0;
  let failed = 0;
  for (const { id } of due) {
    const r = await deliverStream(ctx, id);
    if (r) {
      delivered += r.delivered;
      if (!r.ok) failed++;
    }
  }
  return { streams: due.length, delivered, failed };
}
