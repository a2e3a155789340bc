import type { ExpressionBuilder } from 'kysely';
import type { Ctx } from '../context.js';
import type { DB, Queryable } from '../db/schema.js';
import { holderIsGone, keepLeaseAlive, newHolderName } from '../jobs/lease.js';
import type { JobRun } from '../jobs/scheduler.js';
import { type AuditEvent, eventFromRow } from '../audit/event.js';
import { recordAudit } from '../audit/record.js';
import type { AuditStreamsTable } from '../audit/tables.js';
import { firstEventAfter } from './backlog.js';
import { openStreamSecret, sealLegacyStreamSecrets } from './secrets.js';
import {
  type DeliverOptions,
  type DeliveryResult,
  type Destination,
  type PreparedBatch,
  type StreamSettings,
  deliver,
  prepareBatch,
} from './transports.js';
import { sealPendingAudit } from '../audit/seal.js';

/**
 * Delivery reads the audit table forward from each destination's cursor (the table is the outbox):
 * a batch is sent, and only after the receiver accepts it does the cursor move, in one UPDATE. A
 * crash between the two re-sends the batch (at-least-once). Before a batch leaves, its last seq is
 * written as `inflight_to_seq`; whoever sends that range again (after a crash, a lost lease or a
 * failed attempt) marks it as a redelivery, and event ids let the SIEM deduplicate.
 *
 * One destination is worked by one process at a time, under a short lease in its row renewed by a
 * heartbeat while it works; a holder that is gone loses it at once (see src/jobs/lease.ts).
 * A backlog drains at full speed: large batches, the next batch read while the current one is sent,
 * several destinations side by side, and at most two batches per destination in memory.
 */
export const BATCH_SIZE = 2_000;
/** Failures in a row that open the circuit (attempts continue, spaced by the capped backoff). */
export const CIRCUIT_THRESHOLD = 5;
/** Failures in a row (or one permanent refusal) after which the destination stops until an admin retries it. */
export const DEAD_LETTER_THRESHOLD = 50;
/** Destinations worked side by side by one delivery run. */
export const STREAM_CONCURRENCY = 4;
/** A run leaves a destination after this long (its lag is then still visible and shrinking), so the job ends and others get a turn. */
export const RUN_BUDGET_MS = 30_000;
export const STREAM_LEASE_MS = 15_000;
const BASE_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 5 * 60_000;
const OWNER = newHolderName();

/** Exponential backoff with full jitter: uniform in [base/2, base·2^(n-1)] capped at 5 minutes. */
export function backoffMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

type Sys = Pick<Ctx, 'db' | 'clock' | 'caller' | 'meta' | 'config'>;

/** The destination with its credential opened for this delivery, or the failure to record instead (shredded keys, tampered ciphertext). */
export async function openDestination(
  ctx: Pick<Ctx, 'db' | 'config'>,
  row: AuditStreamsTable,
): Promise<{ ok: true; dest: Destination } | { ok: false; result: DeliveryResult }> {
  const opened = await openStreamSecret(ctx.db, ctx.config, row);
  if (!opened.ok) return { ok: false, result: { ok: false, permanent: opened.permanent, error: opened.error } };
  return {
    ok: true,
    dest: {
      id: row.id,
      kind: row.kind,
      format: row.format,
      settings: JSON.parse(row.settings) as StreamSettings,
      secret: opened.secret,
    },
  };
}

/** Opens the credential and sends; any failure (including one to open the credential) is a failed result, never an exception. */
export async function deliverRow(
  ctx: Pick<Ctx, 'db' | 'config'>,
  row: AuditStreamsTable,
  events: AuditEvent[],
  now: Date,
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  try {
    const opened = await openDestination(ctx, row);
    if (!opened.ok) return opened.result;
    return await deliver(ctx.config, opened.dest, events, now, options);
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message.slice(0, 500) : String(err) };
  }
}

export interface StreamRunSummary {
  streamId: string;
  delivered: number;
  ok: boolean;
  /** Events re-sent because they were in flight when an earlier attempt stopped. */
  redelivered?: number;
  error?: string;
  /** The run stopped before the destination caught up (time budget, lost lease, shutdown): the next run goes on. */
  unfinished?: boolean;
}

export interface DeliverStreamOptions {
  /** Stops between batches when aborted (lost job lease, shutdown). */
  signal?: AbortSignal;
  /** The lease holder name (the job's, when run by the scheduler). */
  holder?: string;
  budgetMs?: number;
  batchSize?: number;
}

/**
 * Takes a destination's lease when it is free, expired, or held by a process that is gone.
 * Compare-and-set on what was read, so of two claimants exactly one wins.
 */
async function claimStream(ctx: Sys, streamId: string, holder: string): Promise<boolean> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  const row = await ctx.db
    .selectFrom('audit_streams')
    .select(['lease_owner', 'lease_until', 'status'])
    .where('id', '=', streamId)
    .executeTakeFirst();
  if (!row || row.status !== 'active') return false;
  const held = row.lease_owner !== null && row.lease_until !== null && row.lease_until >= at;
  if (held && !holderIsGone(row.lease_owner as string)) return false;
  let claim = ctx.db
    .updateTable('audit_streams')
    .set({ lease_owner: holder, lease_until: new Date(now.getTime() + STREAM_LEASE_MS).toISOString() })
    .where('id', '=', streamId)
    .where('status', '=', 'active');
  claim = held
    ? claim.where('lease_owner', '=', row.lease_owner as string).where('lease_until', '=', row.lease_until as string)
    : claim.where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]));
  return Number((await claim.executeTakeFirst()).numUpdatedRows) === 1;
}

/** Delivers whatever one destination has pending (within the run budget). Returns undefined when another process holds it. */
export async function deliverStream(
  ctx: Sys,
  streamId: string,
  options: DeliverStreamOptions = {},
): Promise<StreamRunSummary | undefined> {
  const holder = options.holder ?? OWNER;
  const batchSize = options.batchSize ?? BATCH_SIZE;
  const budgetMs = options.budgetMs ?? RUN_BUDGET_MS;
  const now = () => ctx.clock.now();
  if (!(await claimStream(ctx, streamId, holder))) return undefined;
  const keeper = keepLeaseAlive({
    leaseMs: STREAM_LEASE_MS,
    ...(options.signal ? { parent: options.signal } : {}),
    renew: async () => {
      const r = await ctx.db
        .updateTable('audit_streams')
        .set({ lease_until: new Date(now().getTime() + STREAM_LEASE_MS).toISOString() })
        .where('id', '=', streamId)
        .where('lease_owner', '=', holder)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
  });
  const mine = (eb: ExpressionBuilder<DB, 'audit_streams'>) =>
    eb.and([eb('id', '=', streamId), eb('lease_owner', '=', holder)]);
  let delivered = 0;
  let redelivered = 0;
  try {
    const row = await ctx.db
      .selectFrom('audit_streams')
      .selectAll()
      .where('id', '=', streamId)
      .executeTakeFirstOrThrow();
    // Destinations receive the chain in order: what is pending for the organization is sealed first.
    await sealPendingAudit(ctx.db, row.org_id);
    let cursor = Number(row.cursor_seq);
    let failures = Number(row.failures);
    // Events up to here were in flight when an earlier attempt stopped: the receiver may have them.
    const maybeReceivedThrough = row.inflight_to_seq === null ? 0 : Number(row.inflight_to_seq);
    /**
     * The next batch after `after`. A chain's seqs have no gaps, so the batch is the range
     * (after, after + batchSize]: an index range scan, whatever the backlog (asked for "seq > after
     * ORDER BY seq LIMIT n", PostgreSQL without fresh statistics scanned and sorted the whole
     * backlog for every batch). A retention purge can leave the cursor before the first kept
     * event: then the first seq after it is looked up and the range starts there.
     */
    const range = (after: number) => {
      // The possibly received range goes out as a batch of its own, so exactly those events are marked.
      const upTo = after < maybeReceivedThrough ? Math.min(after + batchSize, maybeReceivedThrough) : after + batchSize;
      return ctx.db
        .selectFrom('audit_events')
        .selectAll()
        .where('org_id', '=', row.org_id)
        .where('seq', '>', after)
        .where('seq', '<=', upTo)
        .orderBy('seq')
        .execute();
    };
    const fetch = async (after: number) => {
      const rows = await range(after);
      if (rows.length) return rows;
      const next = await firstEventAfter(ctx.db, row.org_id, after);
      return next ? range(next.seq - 1) : rows;
    };
    const pending = await firstEventAfter(ctx.db, row.org_id, cursor);
    if (!pending) return { streamId, delivered, ok: true };
    // The credential is opened once per run (at most RUN_BUDGET_MS) and never stored.
    const opened = await openDestination(ctx, row).catch((err: unknown) => ({
      ok: false as const,
      result: { ok: false, error: err instanceof Error ? err.message.slice(0, 500) : String(err) },
    }));
    if (!opened.ok) {
      await recordFailure(ctx, row, failures, opened.result, pending.seq);
      return { streamId, delivered, ok: false, error: opened.result.error ?? 'the credential could not be opened' };
    }
    const dest = opened.dest;
    // A batch read and formatted ahead: formatting the next one overlaps sending this one.
    interface Loaded {
      events: AuditEvent[];
      redelivery: boolean;
      prepared: PreparedBatch | undefined;
    }
    const load = async (after: number): Promise<Loaded> => {
      const events = (await fetch(after)).map(eventFromRow);
      const redelivery = events.length > 0 && events[0]!.seq <= maybeReceivedThrough;
      return {
        events,
        redelivery,
        prepared: events.length ? prepareBatch(ctx.config, dest, events, now(), { redelivery }) : undefined,
      };
    };
    const started = Date.now();
    let markedThrough = maybeReceivedThrough;
    let next: Promise<Loaded> | undefined = load(cursor);
    let prefetched = false;
    while (next) {
      let batch = await next;
      next = undefined;
      // Read ahead before the last cursor commit: events written since (stream.recovered among them)
      // are read again, sealed first (with batched sealing they are pending until a sealer runs).
      if (!batch.prepared && prefetched) {
        await sealPendingAudit(ctx.db, row.org_id);
        batch = await load(cursor);
      }
      prefetched = true;
      const { events, redelivery, prepared } = batch;
      if (!prepared) return { streamId, delivered, ok: true, ...(redelivered ? { redelivered } : {}) };
      if (keeper.signal.aborted || Date.now() - started > budgetMs)
        return { streamId, delivered, ok: true, unfinished: true, ...(redelivered ? { redelivered } : {}) };
      const firstSeq = events[0]!.seq;
      const lastSeq = events[events.length - 1]!.seq;
      // The in-flight mark covers this batch before it leaves (written with the previous batch's
      // cursor move when that one could see this one coming; otherwise here).
      if (!redelivery && markedThrough < lastSeq) {
        const marked = await ctx.db
          .updateTable('audit_streams')
          .set({ inflight_to_seq: lastSeq })
          .where(mine)
          .executeTakeFirst();
        if (Number(marked.numUpdatedRows) !== 1) return { streamId, delivered, ok: true, unfinished: true };
        markedThrough = lastSeq;
      }
      const sending = prepared.send();
      // The next batch is read and formatted once this one's connection is under way (at most two in memory).
      const ahead: Promise<Loaded> = new Promise<void>((r) => setImmediate(r)).then(() => load(lastSeq));
      ahead.catch(() => undefined);
      next = ahead;
      const result = await sending;
      if (!result.ok) {
        await recordFailure(ctx, row, failures, result, firstSeq);
        return { streamId, delivered, ok: false, error: result.error ?? 'delivery failed' };
      }
      // One UPDATE moves the cursor and marks the next batch in flight (read meanwhile), so a batch
      // costs one round trip to the database. Only a recovery (an audit event) needs a transaction.
      const upcoming = await ahead.catch(() => undefined);
      const goesOn =
        upcoming?.prepared !== undefined &&
        !upcoming.redelivery &&
        !keeper.signal.aborted &&
        Date.now() - started <= budgetMs;
      const nextMark = goesOn ? upcoming.events[upcoming.events.length - 1]!.seq : null;
      const move = (q: Queryable) =>
        q
          .updateTable('audit_streams')
          .set({
            cursor_seq: lastSeq,
            inflight_to_seq: nextMark,
            failures: 0,
            next_attempt_at: null,
            last_success_at: now().toISOString(),
            updated_at: now().toISOString(),
          })
          // The cursor only moves forward, and only for the holder of the lease.
          .where(mine)
          .where('cursor_seq', '=', cursor)
          .returning(['status'])
          .executeTakeFirst();
      const committed =
        failures === 0
          ? (await move(ctx.db))?.status
          : await ctx.db.transaction().execute(async (tx) => {
              const moved = await move(tx);
              if (!moved) return undefined;
              await recordAudit(tx, ctx, {
                orgId: row.org_id,
                action: 'stream.recovered',
                targets: [{ type: 'audit_stream', id: row.id, name: row.name }],
                metadata: { kind: row.kind, failuresBefore: failures, since: row.last_error_at },
              });
              return moved.status;
            });
      markedThrough = nextMark ?? lastSeq;
      // Lost the lease (a takeover after a stall) or the cursor moved under us: stop, the holder goes on.
      if (committed === undefined) return { streamId, delivered, ok: true, unfinished: true };
      delivered += events.length;
      if (redelivery) redelivered += events.length;
      cursor = lastSeq;
      failures = 0;
      // Paused or dead-lettered by an admin meanwhile: stop after the batch that was on the wire.
      if (committed !== 'active') return { streamId, delivered, ok: true, unfinished: true };
    }
    return { streamId, delivered, ok: true };
  } finally {
    keeper.stop();
    await ctx.db.updateTable('audit_streams').set({ lease_owner: null, lease_until: null }).where(mine).execute();
  }
}

async function recordFailure(
  ctx: Sys,
  row: AuditStreamsTable,
  failuresBefore: number,
  result: DeliveryResult,
  firstSeq: number,
): Promise<void> {
  const failures = failuresBefore + 1;
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
    const metadata = {
      kind: row.kind,
      failures,
      pendingFromSeq: firstSeq,
      status: result.status ?? null,
      error: error.slice(0, 300),
    };
    if (deadLetter)
      await recordAudit(tx, ctx, {
        orgId: row.org_id,
        action: 'stream.dead_lettered',
        outcome: 'failure',
        targets: target,
        metadata,
      });
    else if (failures === 1 || failures === CIRCUIT_THRESHOLD) {
      await recordAudit(tx, ctx, {
        orgId: row.org_id,
        action: failures === 1 ? 'stream.delivery_failed' : 'stream.circuit_opened',
        outcome: 'failure',
        targets: target,
        metadata,
      });
    }
  });
}

/** The delivery job: every active destination whose backoff has elapsed, several side by side. */
export async function deliverDue(
  ctx: Sys,
  run?: Pick<JobRun, 'signal' | 'holder'>,
): Promise<{ streams: number; delivered: number; failed: number; unfinished: number }> {
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
  let unfinished = 0;
  const queue = due.map((d) => d.id);
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      if (run?.signal.aborted) return;
      const r = await deliverStream(ctx, id, { ...(run ? { signal: run.signal, holder: run.holder } : {}) });
      if (!r) continue;
      delivered += r.delivered;
      if (!r.ok) failed++;
      if (r.unfinished) unfinished++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(STREAM_CONCURRENCY, queue.length) }, worker));
  return { streams: due.length, delivered, failed, unfinished };
}
