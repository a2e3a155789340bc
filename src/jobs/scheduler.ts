import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { PalisadeConfig } from '../config.js';
import { type Ctx, systemCtx } from '../context.js';
import { sealAllPendingAudit } from '../audit/seal.js';
import { noteIfFault, noteWriteSucceeded } from '../db/faults.js';
import type { Db } from '../db/schema.js';
import { holderIsGone, keepLeaseAlive, newHolderName } from './lease.js';

/**
 * One scheduler for every periodic job (domain re-verification, retention purges, SIEM delivery,
 * metadata refresh, key re-wrap). A job runs in at most one process at a time: it must win a lease
 * row in the database first, so several Palisade processes on one PostgreSQL never run it twice.
 * Its next due time lives in the same row, so it survives restarts. Jobs must be idempotent.
 *
 * Leases follow their holder: a lease is short (DEFAULT_LEASE_MS) and renewed by a heartbeat while
 * the job runs, so a holder that dies loses it within seconds; a holder this process can see is
 * gone (same host: the pid no longer exists, or a restarted process's previous incarnation) loses it
 * at once; a graceful stop releases it. Jobs run side by side, so a slow one (a purge, a re-check of
 * thousands of domains) never holds up SIEM delivery.
 */
export interface JobDefinition {
  name: string;
  /** How often the job is due. */
  intervalMs: number;
  /**
   * How long the lease outlives its last heartbeat (default 15 s): the longest a crashed holder on
   * another host keeps others from running the job. Not a limit on how long a run may take.
   */
  leaseMs?: number;
  /**
   * Returns a short summary for the job status (counts); throws on failure. `run.signal` aborts when
   * the lease is lost or the process stops: long jobs check it between units of work and return.
   */
  run(ctx: Ctx, run?: JobRun): Promise<Record<string, unknown> | void>;
}

export interface JobRun {
  /** Aborted when the lease is lost (taken over, not renewable) or the scheduler stops. */
  signal: AbortSignal;
  /** The lease holder's name, as written in lease rows. */
  holder: string;
}

export interface JobRunResult {
  name: string;
  ran: boolean;
  status?: 'succeeded' | 'failed';
  summary?: Record<string, unknown>;
  error?: string;
}

export interface SchedulerDeps {
  db: Db;
  clock: Clock;
  config: PalisadeConfig;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export const DEFAULT_LEASE_MS = 15_000;
/** How long a graceful stop waits for running jobs to notice and return before releasing their leases anyway. */
export const DEFAULT_STOP_GRACE_MS = 15_000;

export class Scheduler {
  private readonly jobs = new Map<string, JobDefinition>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly running = new Map<string, Promise<JobRunResult>>();
  private readonly stopping = new AbortController();
  /** Identifies this process in lease rows (host, pid and what tells whether it still runs; see lease.ts). */
  readonly owner = newHolderName();

  constructor(private readonly deps: SchedulerDeps) {}

  register(job: JobDefinition): void {
    if (this.jobs.has(job.name)) throw new Error(`job ${job.name} registered twice`);
    this.jobs.set(job.name, job);
    // Each running job's lease keeper listens on the stop signal (and removes its listener when the
    // run ends): as many listeners as jobs is expected, not a leak, so Node need not warn past 10.
    setMaxListeners(this.jobs.size + 10, this.stopping.signal);
  }

  registered(): string[] {
    return [...this.jobs.keys()];
  }

  /** Names of the jobs running in this process now. */
  runningJobs(): string[] {
    return [...this.running.keys()];
  }

  /**
   * How often `start()` looks for due jobs: every 5 s, or as often as the most frequent job is due
   * (PALISADE_AUDIT_STREAM_INTERVAL_SECONDS=1 means every second), but not more than 4 times a second.
   */
  pollInterval(): number {
    const shortest = Math.min(...[...this.jobs.values()].map((j) => j.intervalMs));
    return Math.max(250, Math.min(5_000, shortest));
  }

  /** Starts polling for due jobs every `pollMs` (default: `pollInterval()`). Due jobs start without waiting for each other. */
  start(pollMs = this.pollInterval()): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), pollMs);
    this.timer.unref();
    void this.poll();
  }

  /**
   * Graceful stop: no new runs; running jobs are told to stop (their signal aborts) and given
   * `graceMs` to return; then every lease this scheduler still holds is released, so another
   * process (or this one restarted) takes the work over at once.
   */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopping.abort(new Error('Palisade is stopping'));
    const settled = Promise.allSettled([...this.running.values()]);
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((r) => (timeout = setTimeout(() => r(true), graceMs))),
    ]);
    clearTimeout(timeout);
    while (this.polling) await new Promise((r) => setTimeout(r, 20));
    if (timedOut)
      this.deps.log?.warn({ jobs: this.runningJobs() }, 'jobs did not stop in time; releasing their leases anyway');
    try {
      await this.deps.db
        .updateTable('job_leases')
        .set({ owner: null, lease_until: null })
        .where('owner', '=', this.owner)
        .execute();
    } catch (err) {
      // The leases then expire by themselves (DEFAULT_LEASE_MS), or a restart here sees this process is gone.
      this.deps.log?.warn({ err }, 'could not release job leases at shutdown');
    }
  }

  /** Runs every job that is due and whose lease this process wins, and waits for them (tests, CLI). */
  async tick(): Promise<JobRunResult[]> {
    const tickAt = this.deps.clock.now();
    const started: Promise<JobRunResult>[] = [];
    for (const job of this.jobs.values()) started.push(this.start1(job, false, tickAt));
    return Promise.all(started);
  }

  /** Runs one job now, whether due or not, unless another process (or this one) is running it. */
  async runNow(name: string): Promise<JobRunResult> {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`no job named ${name}; registered: ${this.registered().join(', ')}`);
    return this.start1(job, true);
  }

  /** One polling round: starts due jobs and returns without waiting for them. Never throws. */
  private async poll(): Promise<void> {
    if (this.polling || this.stopping.signal.aborted) return;
    this.polling = true;
    try {
      const tickAt = this.deps.clock.now();
      for (const job of this.jobs.values()) {
        if (this.stopping.signal.aborted) break;
        // Claiming is a quick query; the run itself goes on in the background.
        void this.start1(job, false, tickAt).catch((err: unknown) =>
          this.deps.log?.error({ err, job: job.name }, 'job scheduling failed'),
        );
      }
    } finally {
      this.polling = false;
    }
  }

  private start1(job: JobDefinition, force: boolean, tickAt?: Date): Promise<JobRunResult> {
    if (this.running.has(job.name) || this.stopping.signal.aborted)
      return Promise.resolve({ name: job.name, ran: false });
    const run = this.claimAndRun(job, force, tickAt).finally(() => this.running.delete(job.name));
    this.running.set(job.name, run);
    return run;
  }

  private async claimAndRun(job: JobDefinition, force: boolean, tickAt?: Date): Promise<JobRunResult> {
    const { db, clock, log } = this.deps;
    const leaseMs = job.leaseMs ?? DEFAULT_LEASE_MS;
    let won: boolean;
    try {
      won = await this.claim(job, leaseMs, force);
    } catch (err) {
      // The database is down or full: nothing ran; the next poll tries again.
      noteIfFault(db, err);
      log?.warn({ err, job: job.name }, 'could not claim the job lease');
      return { name: job.name, ran: false, error: err instanceof Error ? err.message : String(err) };
    }
    if (!won) return { name: job.name, ran: false };
    noteWriteSucceeded(db);
    if (this.stopping.signal.aborted) {
      // Stopped while claiming: hand the lease straight back.
      await db
        .updateTable('job_leases')
        .set({ owner: null, lease_until: null })
        .where('name', '=', job.name)
        .where('owner', '=', this.owner)
        .execute()
        .catch(() => undefined);
      return { name: job.name, ran: false };
    }

    const scheduledFrom = tickAt ?? clock.now();
    const keeper = keepLeaseAlive({
      leaseMs,
      parent: this.stopping.signal,
      renew: async () => {
        const now = clock.now();
        const r = await db
          .updateTable('job_leases')
          .set({ lease_until: new Date(now.getTime() + leaseMs).toISOString(), heartbeat_at: now.toISOString() })
          .where('name', '=', job.name)
          .where('owner', '=', this.owner)
          .executeTakeFirst();
        return Number(r.numUpdatedRows) === 1;
      },
      onLost: (reason) => log?.warn({ job: job.name, reason }, 'job lease lost; the run stops'),
    });
    const ctx = systemCtx({ db, clock, config: this.deps.config }, `job:${job.name}`);
    let result: JobRunResult;
    try {
      const summary = (await job.run(ctx, { signal: keeper.signal, holder: this.owner })) ?? {};
      result = { name: job.name, ran: true, status: 'succeeded', summary };
    } catch (err) {
      noteIfFault(db, err);
      log?.error({ err, job: job.name }, 'job failed');
      result = { name: job.name, ran: true, status: 'failed', error: err instanceof Error ? err.message : String(err) };
    } finally {
      keeper.stop();
    }
    // Like a request, a run is done once its audit events are in the chain: with batched sealing
    // (docs/audit-log.md "Sealing") they are pending until now. A failure here loses nothing: the
    // events are committed and the sweep seals them.
    if (result.ran) await sealAllPendingAudit(db).catch((err: unknown) => noteIfFault(db, err));
    const done = clock.now();
    // Fixed rate: due again one interval after this run's tick (less a little slack, as timers may
    // fire a millisecond early); a run that overran its interval is due at the next tick.
    const nextRun = Math.max(
      done.getTime(),
      scheduledFrom.getTime() + job.intervalMs - Math.min(100, job.intervalMs / 10),
    );
    try {
      await db
        .updateTable('job_leases')
        .set((eb) => ({
          owner: null,
          lease_until: null,
          next_run_at: new Date(nextRun).toISOString(),
          last_finished_at: done.toISOString(),
          last_status: result.status ?? null,
          last_error: result.error?.slice(0, 2000) ?? null,
          last_summary: result.summary ? JSON.stringify(result.summary) : null,
          runs: eb('runs', '+', 1),
          consecutive_failures: result.status === 'failed' ? eb('consecutive_failures', '+', 1) : 0,
        }))
        .where('name', '=', job.name)
        .where('owner', '=', this.owner)
        .execute();
    } catch (err) {
      // The lease stays ours until it expires; this process claims it back at its next poll.
      noteIfFault(db, err);
      log?.warn({ err, job: job.name }, 'could not record the end of a job run');
    }
    return result;
  }

  /**
   * Takes the lease when it is free, expired, held by a process that is gone (see holderIsGone),
   * or held by this scheduler itself from a run whose release could not be written. Only one
   * claimant's conditional UPDATE matches.
   */
  private async claim(job: JobDefinition, leaseMs: number, force: boolean): Promise<boolean> {
    const { db, clock, log } = this.deps;
    const now = clock.now();
    const at = now.toISOString();
    await db
      .insertInto('job_leases')
      .values({
        name: job.name,
        owner: null,
        lease_until: null,
        next_run_at: at,
        last_started_at: null,
        last_finished_at: null,
        last_status: null,
        last_error: null,
        last_summary: null,
        runs: 0,
        heartbeat_at: null,
        interval_ms: job.intervalMs,
        consecutive_failures: 0,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await db
      .selectFrom('job_leases')
      .select(['owner', 'lease_until', 'next_run_at'])
      .where('name', '=', job.name)
      .executeTakeFirst();
    if (!row) return false;
    if (!force && row.next_run_at > at) return false;
    const held = row.owner !== null && row.lease_until !== null && row.lease_until >= at;
    const takeOver = held && row.owner !== null && (row.owner === this.owner || holderIsGone(row.owner));
    if (held && !takeOver) return false;
    let claim = db
      .updateTable('job_leases')
      .set({
        owner: this.owner,
        lease_until: new Date(now.getTime() + leaseMs).toISOString(),
        heartbeat_at: at,
        last_started_at: at,
        interval_ms: job.intervalMs,
      })
      .where('name', '=', job.name);
    // Compare-and-set on what was read: a concurrent claimant that got there first makes this match nothing.
    claim =
      takeOver && row.owner !== null
        ? claim.where('owner', '=', row.owner).where('lease_until', '=', row.lease_until)
        : claim.where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]));
    if (!force) claim = claim.where('next_run_at', '<=', at);
    const won = Number((await claim.executeTakeFirst()).numUpdatedRows) === 1;
    if (won && takeOver && row.owner !== this.owner)
      log?.info({ job: job.name, previousHolder: row.owner }, 'took over the lease of a process that is gone');
    return won;
  }
}

export interface JobStatus {
  name: string;
  nextRunAt: string;
  running: boolean;
  /** The lease holder (host:pid:tag;…) while running. */
  holder: string | null;
  leaseUntil: string | null;
  heartbeatAt: string | null;
  intervalMs: number | null;
  lastStartedAt: string | null;
  lastFinishedAt: string | null;
  lastStatus: 'succeeded' | 'failed' | null;
  lastError: string | null;
  lastSummary: Record<string, unknown> | null;
  runs: number;
  consecutiveFailures: number;
}

export async function jobStatuses(db: Db, now: Date): Promise<JobStatus[]> {
  const rows = await db.selectFrom('job_leases').selectAll().orderBy('name').execute();
  return rows.map((r) => ({
    name: r.name,
    nextRunAt: r.next_run_at,
    running: r.lease_until !== null && r.lease_until > now.toISOString(),
    holder: r.owner,
    leaseUntil: r.lease_until,
    heartbeatAt: r.heartbeat_at,
    intervalMs: r.interval_ms === null ? null : Number(r.interval_ms),
    lastStartedAt: r.last_started_at,
    lastFinishedAt: r.last_finished_at,
    lastStatus: r.last_status,
    lastError: r.last_error,
    lastSummary: r.last_summary ? (JSON.parse(r.last_summary) as Record<string, unknown>) : null,
    runs: Number(r.runs),
    consecutiveFailures: Number(r.consecutive_failures),
  }));
}
