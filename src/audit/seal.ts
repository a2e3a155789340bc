import { sql } from 'kysely';
import { pgPoolOf } from '../db/connect.js';
import type { Db, NewAuditEventRow, Tx } from '../db/schema.js';
import { type ActorType, chainHash, hashedContentFromParts, targetIdsOf } from './event.js';
import { type TargetRow, insertChainedRows, lockChainHead } from './record.js';
import {
  type AuditSealerHandle,
  type AuditSealingMode,
  appendsPending,
  auditSealerOf,
  setAuditSealer,
} from './sealer-registry.js';
import { SealerLease } from './sealer-lease.js';

/**
 * Append-then-seal (PALISADE_AUDIT_SEALING=background, the default on PostgreSQL, or batched).
 *
 * A request transaction appends its events to `audit_pending`, beside the change they record, and
 * commits without touching the organization's chain head. A sealer then links the pending events of
 * an organization into its hash chain in one transaction: it takes the chain head's row lock, reads
 * up to SEAL_BATCH pending rows in (occurred_at, id) order, gives them the next sequence numbers and
 * hashes, inserts them into audit_events (with their target index rows), deletes them from
 * audit_pending and moves the head. One such transaction seals every event appended since the last
 * one — a group commit — so 24 writers of one organization cost one chain-head lock per batch instead
 * of queueing, one by one, for the whole of each other's transactions.
 *
 * Guarantees (docs/audit-log.md, "Sealing"):
 * - Durable with the change: an event commits with the change it records, or neither does (unchanged).
 * - Sealed within a second. `background` on PostgreSQL: one instance seals for all, the holder of the
 *   sealer lease (src/audit/sealer-lease.ts), scanning audit_pending every BACKGROUND_CADENCE_MS
 *   while it finds work and every SWEEP_INTERVAL_MS otherwise; the others try for the lease each
 *   interval and take over from a holder that died. Otherwise (batched, or SQLite): every instance
 *   sweeps what it appended SOON_MS after the append and the whole table every SWEEP_INTERVAL_MS.
 *   Either way an organization's chain-head row lock, taken with SKIP LOCKED, keeps one pass per
 *   organization at a time, and a pass that finds it taken comes back after a cadence.
 * - `background`: a request is acknowledged when its transaction commits; nobody waits for a seal,
 *   so 24 writers of one organization on 3 instances cost what they cost on 1.
 * - `batched`: an HTTP response whose request appended events is sent after they are sealed (app.ts,
 *   onSend), so whoever saw the response finds its event in the chain tables themselves. Requests
 *   then wait for their instance's sealing pass, and passes of several instances queue on the
 *   organization's chain head (measured: docs/audit-log.md).
 * - Readers that depend on the chain (verification, checkpoints, retention purges, stream delivery,
 *   search and export) seal the organization's pending events first (`sealPendingAudit`).
 * - The order of the chain is the order of sealing. Several sealers (instances) serialize on the
 *   chain-head row lock, which inline writers (a previous release during a rolling upgrade, a CLI
 *   command) take too, so every writer extends one chain.
 */
export const SEAL_BATCH = 1000;
export const SWEEP_INTERVAL_MS = 200;
/** After an append, how soon the sweep looks again (an appended event's transaction is about to commit). */
const SOON_MS = 5;
/**
 * In `background` mode nobody waits for a seal, so appends are grouped for this long before a pass
 * seals them: fewer, larger passes (one chain-head lock and one multi-row insert per organization
 * per cadence, whatever the request rate), well inside the one-second guarantee.
 */
export const BACKGROUND_CADENCE_MS = 25;
/** A request that appended but never reached onSend (hijacked replies, aborted connections) is forgotten after this. */
const REQUEST_TTL_MS = 60_000;

/**
 * Seals the pending events of one organization. `skipIfBusy`: give up at once when another sealer
 * holds the chain head (PostgreSQL; sweeps use it), otherwise wait for it. Returns the events sealed,
 * or -1 when it gave up at once because another sealer held the chain head.
 */
export async function sealOrganization(db: Db, orgId: string, options: { skipIfBusy?: boolean } = {}): Promise<number> {
  const postgres = pgPoolOf(db) !== undefined;
  let total = 0;
  for (;;) {
    const sealed = await db.transaction().execute(async (tx) => {
      const head = postgres && options.skipIfBusy ? await tryLockHead(tx, orgId) : await lockChainHead(tx, orgId);
      if (!head) return -1;
      const pending = await tx
        .selectFrom('audit_pending')
        .selectAll()
        .where('org_id', '=', orgId)
        .orderBy('occurred_at')
        .orderBy('id')
        .limit(SEAL_BATCH)
        .execute();
      if (pending.length === 0) return 0;
      let { seq, hash } = head;
      const rows: NewAuditEventRow[] = [];
      const targetRows: TargetRow[] = [];
      for (const p of pending) {
        seq += 1;
        const actor = {
          type: p.actor_type as ActorType,
          id: p.actor_id,
          email: p.actor_email,
          ip: p.actor_ip,
          userAgent: p.actor_user_agent,
        };
        const content = hashedContentFromParts(
          {
            id: p.id,
            orgId,
            seq,
            occurredAt: p.occurred_at,
            actor,
            action: p.action,
            outcome: p.outcome,
            requestId: p.request_id,
          },
          p.targets,
          p.metadata,
        );
        const next = chainHash(hash, content);
        rows.push({ ...p, seq, prev_hash: hash, hash: next });
        for (const targetId of targetIdsOf(p.targets))
          targetRows.push({ org_id: orgId, target_id: targetId, occurred_at: p.occurred_at, event_id: p.id });
        hash = next;
      }
      await insertChainedRows(tx, db, rows, targetRows);
      for (let i = 0; i < pending.length; i += 500)
        await tx
          .deleteFrom('audit_pending')
          .where(
            'id',
            'in',
            pending.slice(i, i + 500).map((p) => p.id),
          )
          .execute();
      await tx.updateTable('audit_chain_heads').set({ seq, hash }).where('org_id', '=', orgId).execute();
      return pending.length;
    });
    // -1: another sealer holds the chain head (skipIfBusy); the caller may want to come back.
    if (sealed < 0) return total > 0 ? total : -1;
    if (sealed === 0) return total;
    total += sealed;
    if (sealed < SEAL_BATCH) return total;
  }
}

/** The chain head under its row lock, or undefined when another transaction holds it (PostgreSQL). */
async function tryLockHead(tx: Tx, orgId: string): Promise<{ seq: number; hash: string } | undefined> {
  const row = await tx
    .selectFrom('audit_chain_heads')
    .select(['seq', 'hash'])
    .where('org_id', '=', orgId)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst();
  if (row) return { seq: Number(row.seq), hash: row.hash };
  const exists = await tx
    .selectFrom('audit_chain_heads')
    .select('org_id')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  // Held by another sealer or writer: it will seal what is pending, or the next sweep will.
  if (exists) return undefined;
  return lockChainHead(tx, orgId); // the organization's first events: creates the head
}

/** The pauses between a reader's looks at whether another sealer has sealed what it waits for: growing, then the last repeated. */
const AWAIT_SEALER_DELAYS_MS = [2, 4, 8, 16, 25] as const;

/**
 * Everything pending for `orgId` now is sealed when this resolves — sealed by this call when the
 * chain head is free, or by whoever holds it. A reader never queues on the head's row lock: in
 * `background` mode on several instances the lease holder seals every organization each cadence,
 * and readers of other instances that waited for the lock behind it, each then holding it for a pass
 * of its own, made a convoy (measured: audit searches at 25/s on 3 instances behind one organization's
 * chain head, p50 0.3–7.8 s where one instance answered in 16 ms). When the head is taken, the
 * holder's pass (or the next one: it may have read the pending rows before some of these committed)
 * seals them; this only looks, with a growing pause, until none of the rows pending at the start is
 * left. Rows a pass is sealing stay in audit_pending until it commits, so "none left" means sealed.
 */
export async function sealOrAwaitSealer(db: Db, orgId: string): Promise<void> {
  const newest = await db
    .selectFrom('audit_pending')
    .select(['occurred_at', 'id'])
    .where('org_id', '=', orgId)
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!newest) return;
  for (let attempt = 0; ; attempt++) {
    const sealed = await sealOrganization(db, orgId, { skipIfBusy: true });
    // This call held the head and sealed everything its snapshot (taken after the start) saw.
    if (sealed >= 0 && sealed < SEAL_BATCH) return;
    if (sealed < 0)
      await new Promise((r) =>
        setTimeout(r, AWAIT_SEALER_DELAYS_MS[Math.min(attempt, AWAIT_SEALER_DELAYS_MS.length - 1)]),
      );
    const left = await db
      .selectFrom('audit_pending')
      .select('id')
      .where('org_id', '=', orgId)
      .where((eb) =>
        eb.or([
          eb('occurred_at', '<', newest.occurred_at),
          eb.and([eb('occurred_at', '=', newest.occurred_at), eb('id', '<=', newest.id)]),
        ]),
      )
      .limit(1)
      .executeTakeFirst();
    if (!left) return;
  }
}

/** Organizations with pending events, oldest first. */
async function organizationsWithPending(db: Db, limit = 200): Promise<string[]> {
  const rows = await sql<{
    org_id: string;
  }>`select org_id from audit_pending group by org_id order by min(occurred_at) limit ${limit}`.execute(db);
  return rows.rows.map((r) => r.org_id);
}

/**
 * Seals what is pending for `orgId` before a reader that depends on the chain reads it. Through the
 * app's sealer when there is one (its batches are shared with the requests it is sealing for), else
 * directly (a CLI command). Cheap when nothing is pending: one indexed lookup.
 */
export async function sealPendingAudit(db: Db, orgId: string): Promise<void> {
  // Never call it inside a transaction: the seal takes the chain head in a transaction of its own.
  const sealer = auditSealerOf(db);
  if (sealer instanceof AuditSealer) return sealer.sealNow(orgId);
  await sealOrAwaitSealer(db, orgId);
}

/**
 * For a response the HTTP layer does not send (the gateway writes hijacked replies itself): waits
 * until the events this request appended are sealed, as onSend does for every other response.
 */
export async function settleRequestSeal(db: Db, requestId: string): Promise<void> {
  const sealer = auditSealerOf(db);
  if (sealer instanceof AuditSealer) await sealer.settleRequest(requestId);
}

/**
 * Seals what is pending now, for every organization (a graceful stop, the checkpoint and retention
 * jobs, notifications). One round over the organizations found pending when it starts: under
 * continuous load other instances keep appending, and waiting for an empty table would never end
 * (a stopping worker would never exit). What arrives meanwhile is sealed by its own request or the
 * sweep.
 */
export async function sealAllPendingAudit(db: Db): Promise<number> {
  let total = 0;
  for (const orgId of await organizationsWithPending(db, 10_000)) total += await sealOrganization(db, orgId);
  return total;
}

/** Events appended and not yet sealed, for one organization: `audit verify` reports them apart. */
export async function countPendingAudit(db: Pick<Db, 'selectFrom'>, orgId: string): Promise<number> {
  const row = await db
    .selectFrom('audit_pending')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

interface OrgQueue {
  running: Promise<void> | null;
  /** Callers that arrived while a pass ran: served together by the next pass, which starts after it. */
  waiting: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | null;
}

/**
 * One per app (per database object): group-commits the seals of its requests and sweeps what other
 * paths left pending. In `inline` mode it only exists so readers find it; nothing is ever pending.
 */
export class AuditSealer implements AuditSealerHandle {
  private readonly queues = new Map<string, OrgQueue>();
  private readonly byRequest = new Map<string, { orgs: Set<string>; at: number }>();
  private timer: NodeJS.Timeout | null = null;
  private timerDue = 0;
  /** Organizations this process appended events for since its last sweep. */
  private readonly appendedFor = new Set<string>();
  private lastScanAt = 0;
  private sweepAgain = false;
  /** background on PostgreSQL: one sealer across instances, the holder of this lease. */
  private readonly lease: SealerLease | undefined;
  private sweeping: Promise<void> | null = null;
  private stopped = false;
  /** Apps sharing this database object (tests start several on one pool); the last to close stops it. */
  users = 1;

  constructor(
    private readonly db: Db,
    readonly mode: AuditSealingMode,
    private readonly onError: (err: unknown) => void,
  ) {
    const pool = pgPoolOf(db);
    this.lease = mode === 'background' && pool ? new SealerLease(pool) : undefined;
    if (appendsPending(mode)) this.schedule(SWEEP_INTERVAL_MS);
  }

  /** background on PostgreSQL: whether this process is the one sealing (undefined in other modes). */
  get leaseHeld(): boolean | undefined {
    return this.lease?.held;
  }

  noteAppended(orgId: string, requestId: string): void {
    if (this.mode === 'background') {
      // Nobody waits for this event: the next sweep of the lease holder seals it, within
      // BACKGROUND_CADENCE_MS when that is this process, within a sweep interval otherwise.
      if (this.lease && !this.lease.held) return;
      this.appendedFor.add(orgId);
      this.schedule(BACKGROUND_CADENCE_MS);
      return;
    }
    this.appendedFor.add(orgId);
    const entry = this.byRequest.get(requestId);
    if (entry) entry.orgs.add(orgId);
    else this.byRequest.set(requestId, { orgs: new Set([orgId]), at: Date.now() });
    this.schedule(SOON_MS);
  }

  private noteBusy(orgId: string): void {
    this.appendedFor.add(orgId);
    this.sweepAgain = true;
  }

  /** For the HTTP layer: waits until the events this request appended are sealed (no-op when it appended none). */
  async settleRequest(requestId: string): Promise<void> {
    const entry = this.byRequest.get(requestId);
    if (!entry) return;
    this.byRequest.delete(requestId);
    await Promise.all([...entry.orgs].map((orgId) => this.sealNow(orgId)));
  }

  /** Forgets a request without waiting (its reply never reached onSend). */
  forgetRequest(requestId: string): void {
    this.byRequest.delete(requestId);
  }

  /**
   * Resolves after a sealing pass for `orgId` that started after this call has finished: everything
   * committed before the call is sealed then. Callers arriving during a pass share the next one.
   */
  sealNow(orgId: string): Promise<void> {
    let q = this.queues.get(orgId);
    if (!q) {
      q = { running: null, waiting: null };
      this.queues.set(orgId, q);
    }
    if (!q.running) {
      q.running = this.pass(orgId, q);
      return q.running;
    }
    if (!q.waiting) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      q.waiting = { promise, resolve, reject };
    }
    return q.waiting.promise;
  }

  private pass(orgId: string, q: OrgQueue): Promise<void> {
    return sealOrAwaitSealer(this.db, orgId).finally(() => {
      q.running = null;
      const waiting = q.waiting;
      q.waiting = null;
      if (waiting) {
        q.running = this.pass(orgId, q);
        q.running.then(waiting.resolve, waiting.reject);
      } else this.queues.delete(orgId);
    });
  }

  private schedule(delayMs: number): void {
    if (this.stopped || !appendsPending(this.mode)) return;
    const due = Date.now() + delayMs;
    if (this.timer) {
      // Only ever brought forward: appends arriving every millisecond must not keep pushing the
      // next sweep back.
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sweep()
        .catch(this.onError)
        .finally(() =>
          this.schedule(
            !this.sweepAgain ? SWEEP_INTERVAL_MS : this.mode === 'background' ? BACKGROUND_CADENCE_MS : SOON_MS,
          ),
        );
    }, delayMs);
    this.timer.unref();
  }

  /** Seals what is pending for organizations no pass of this process is sealing; skips those another holds. */
  private sweep(): Promise<void> {
    if (this.sweeping) {
      // Events appended after the running sweep read the pending organizations: look again soon
      // after it, rather than a whole interval later.
      this.sweepAgain = true;
      return this.sweeping;
    }
    this.sweepAgain = false;
    const now = Date.now();
    for (const [id, entry] of this.byRequest) if (now - entry.at > REQUEST_TTL_MS) this.byRequest.delete(id);
    // The organizations this process appended for are sealed without looking; the whole table is
    // scanned (for what other paths, or an instance that died, left) once per interval.
    const orgs = new Set(this.appendedFor);
    this.appendedFor.clear();
    const scan = now - this.lastScanAt >= SWEEP_INTERVAL_MS;
    if (scan) this.lastScanAt = now;
    this.sweeping = (async () => {
      if (this.lease) {
        // One background sealer across instances: the others only try for the lease, each interval.
        if (!(await this.lease.acquire())) return;
        // The holder cannot hear of other instances' appends: it scans at every sweep (a small
        // table, kept small by the sealing itself) and keeps the short cadence while it finds work.
        for (const orgId of await organizationsWithPending(this.db)) orgs.add(orgId);
      } else if (scan) for (const orgId of await organizationsWithPending(this.db)) orgs.add(orgId);
      let sealedAny = false;
      for (const orgId of orgs) {
        if (this.queues.get(orgId)?.running) continue;
        const sealed = await sealOrganization(this.db, orgId, { skipIfBusy: true });
        if (sealed > 0) sealedAny = true;
        // Another sealer holds it (a reader sealing first, an inline writer, another instance): its
        // pass may have read the pending rows before ours committed, so look again after a cadence
        // rather than at the next full scan.
        if (sealed < 0) this.noteBusy(orgId);
      }
      if (this.lease && sealedAny) this.sweepAgain = true;
    })().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  /** Stops sweeping and seals everything pending (a graceful stop). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.sweeping?.catch(() => undefined);
    await Promise.all([...this.queues.values()].map((q) => q.running?.catch(() => undefined)));
    if (appendsPending(this.mode)) await sealAllPendingAudit(this.db);
    await this.lease?.release();
  }
}

/**
 * Starts the sealer for an app's database. `auto` is background on PostgreSQL (writers of one
 * organization run in parallel there) and inline on SQLite (one write transaction at a time holds
 * the whole database, so batching would only write each event twice).
 */
export function startAuditSealer(
  db: Db,
  setting: 'auto' | AuditSealingMode,
  onError: (err: unknown) => void,
): AuditSealer {
  const existing = auditSealerOf(db);
  if (existing instanceof AuditSealer) {
    existing.users += 1;
    return existing;
  }
  const mode: AuditSealingMode = setting === 'auto' ? (pgPoolOf(db) ? 'background' : 'inline') : setting;
  const sealer = new AuditSealer(db, mode, onError);
  setAuditSealer(db, sealer);
  return sealer;
}

export async function stopAuditSealer(db: Db): Promise<void> {
  const sealer = auditSealerOf(db);
  if (!(sealer instanceof AuditSealer)) return;
  sealer.users -= 1;
  if (sealer.users > 0) return;
  setAuditSealer(db, undefined);
  await sealer.stop();
}
