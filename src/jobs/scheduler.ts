import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { PalisadeConfig } from '../config.js';
import { type Ctx, systemCtx } from '../context.js';
import type { Db } from '../db/schema.js';

/**
 * One scheduler for every periodic job (domain re-verification, retention purges, SIEM delivery,
 * metadata refresh, key re-wrap). A job runs in at most one process at a time: it must win a lease
 * row in the database first, so several Palisade processes on one PostgreSQL never run it twice.
 * Its next due time lives in the same row, so it survives restarts. Jobs must be idempotent: a
 * process that dies mid-run loses its lease when it expires and the job runs again.
 */
export interface JobDefinition {
  name: string;
  /** How often the job is due. */
  intervalMs: number;
  /** Longest a run may hold the lease; a crashed run is retried after this. Defaults to 10 minutes. */
  leaseMs?: number;
  /** Returns a short summary for the job status (counts); throws on failure. */
  run(ctx: Ctx): Promise<Record<string, unknown> | void>;
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

export class Scheduler {
  private readonly jobs = new Map<string, JobDefinition>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** Identifies this process in the lease row, for operators reading job status. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  constructor(private readonly deps: SchedulerDeps) {}

  register(job: JobDefinition): void {
    if (this.jobs.has(job.name)) throw new Error(`job ${job.name} registered twice`);
    this.jobs.set(job.name, job);
  }

  registered(): string[] {
    return [...this.jobs.keys()];
  }

  /**
   * How often `start()` looks for due jobs: every 5 s, or as often as the most frequent job is due
   * (PALISADE_AUDIT_STREAM_INTERVAL_SECONDS=1 means every second), but not more than 4 times a second.
   */
  pollInterval(): number {
    const shortest = Math.min(...[...this.jobs.values()].map((j) => j.intervalMs));
    return Math.max(250, Math.min(5_000, shortest));
  }

  /** Starts polling for due jobs every `pollMs` (default: `pollInterval()`). */
  start(pollMs = this.pollInterval()): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), pollMs);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.ticking) await new Promise((r) => setTimeout(r, 20));
  }

  /** Runs every job that is due and whose lease this process wins. */
  async tick(): Promise<JobRunResult[]> {
    if (this.ticking) return [];
    this.ticking = true;
    try {
      // Jobs are scheduled from the tick that started them, so a job due every poll interval
      // runs at every tick, not every other one (its run and the jobs before it take time).
      const tickAt = this.deps.clock.now();
      const results: JobRunResult[] = [];
      for (const job of this.jobs.values()) results.push(await this.runIfDue(job, false, tickAt));
      return results;
    } finally {
      this.ticking = false;
    }
  }

  /** Runs one job now, whether due or not, unless another process holds its lease. */
  async runNow(name: string): Promise<JobRunResult> {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`no job named ${name}; registered: ${this.registered().join(', ')}`);
    return this.runIfDue(job, true);
  }

  private async runIfDue(job: JobDefinition, force: boolean, tickAt?: Date): Promise<JobRunResult> {
    const { db, clock } = this.deps;
    const now = clock.now();
    const scheduledFrom = tickAt ?? now;
    const at = now.toISOString();
    await db
      .insertInto('job_leases')
      .values({ name: job.name, owner: null, lease_until: null, next_run_at: at, last_started_at: null, last_finished_at: null, last_status: null, last_error: null, last_summary: null, runs: 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    let claim = db
      .updateTable('job_leases')
      .set({ owner: this.owner, lease_until: new Date(now.getTime() + (job.leaseMs ?? 600_000)).toISOString(), last_started_at: at })
      .where('name', '=', job.name)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]));
    if (!force) claim = claim.where('next_run_at', '<=', at);
    const won = await claim.executeTakeFirst();
    if (Number(won.numUpdatedRows) !== 1) return { name: job.name, ran: false };

    const ctx = systemCtx({ db, clock, config: this.deps.config }, `job:${job.name}`);
    let result: JobRunResult;
    try {
      const summary = (await job.run(ctx)) ?? {};
      result = { name: job.name, ran: true, status: 'succeeded', summary };
    } catch (err) {
      this.deps.log?.error({ err, job: job.name }, 'job failed');
      result = { name: job.name, ran: true, status: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
    const done = clock.now();
    // Fixed rate: due again one interval after this run's tick (less a little slack, as timers may
    // fire a millisecond early); a run that overran its interval is due at the next tick.
    const nextRun = Math.max(done.getTime(), scheduledFrom.getTime() + job.intervalMs - Math.min(100, job.intervalMs / 10));
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
      }))
      .where('name', '=', job.name)
      .where('owner', '=', this.owner)
      .execute();
    return result;
  }
}

export interface JobStatus {
  name: string;
  nextRunAt: string;
  running: boolean;
  lastStartedAt: string | null;
  lastFinishedAt: string | null;
  lastStatus: 'succeeded' | 'failed' | null;
  lastError: string | null;
  lastSummary: Record<string, unknown> | null;
  runs: number;
}

export async function jobStatuses(db: Db, now: Date): Promise<JobStatus[]> {
  const rows = await db.selectFrom('job_leases').selectAll().orderBy('name').execute();
  return rows.map((r) => ({
    name: r.name,
    nextRunAt: r.next_run_at,
    running: r.lease_until !== null && r.lease_until > now.toISOString(),
    lastStartedAt: r.last_started_at,
    lastFinishedAt: r.last_finished_at,
    lastStatus: r.last_status,
    lastError: r.last_error,
    lastSummary: r.last_summary ? (JSON.parse(r.last_summary) as Record<string, unknown>) : null,
    runs: Number(r.runs),
  }));
}
