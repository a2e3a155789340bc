import type { Ctx } from '../context.js';
import { systemCtx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { newId } from '../ids.js';
import type { JobDefinition } from '../jobs/scheduler.js';
import { processOwner } from '../email/outbox.js';
import type { GithubJobKind, GithubJobsTable } from './tables.js';

/**
 * Scans run as jobs: a webhook (or an admin) writes a row in the same transaction as what caused
 * it, and a worker leases it, so a scan is never lost when a process dies and never runs twice at
 * once. The webhook endpoint also starts a worker at once in its own process, so a pull request
 * is answered in seconds; the `github.scan` scheduler job picks up whatever is left.
 */
export const MAX_ATTEMPTS = 3;
const LEASE_MS = 5 * 60_000;
export const DELIVERY_RETENTION_DAYS = 30;

export async function enqueueGithubJob(
  db: Queryable,
  now: Date,
  job: { orgId: string; repositoryId: string; kind: GithubJobKind; payload: Record<string, unknown> },
): Promise<string> {
  const id = newId('ghj', now);
  await db
    .insertInto('github_jobs')
    .values({
      id,
      org_id: job.orgId,
      repository_id: job.repositoryId,
      kind: job.kind,
      payload: JSON.stringify(job.payload),
      status: 'queued',
      attempts: 0,
      lease_owner: null,
      lease_until: null,
      last_error: null,
      created_at: now.toISOString(),
      finished_at: null,
    })
    .execute();
  return id;
}

export type JobHandler = (ctx: Ctx, job: GithubJobsTable) => Promise<void>;
const handlers: Partial<Record<GithubJobKind, JobHandler>> = {};

/** The scan modules register themselves here (they import this file, not the other way round). */
export function registerGithubJobHandler(kind: GithubJobKind, handler: JobHandler): void {
  handlers[kind] = handler;
}

async function claim(ctx: Ctx): Promise<GithubJobsTable | undefined> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  for (let tries = 0; tries < 5; tries++) {
    const next = await ctx.db
      .selectFrom('github_jobs')
      .selectAll()
      .where((eb) =>
        eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('lease_until', '<', at)])]),
      )
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    if (!next) return undefined;
    const taken = await ctx.db
      .updateTable('github_jobs')
      .set({
        status: 'running',
        lease_owner: processOwner,
        lease_until: new Date(now.getTime() + LEASE_MS).toISOString(),
        attempts: next.attempts + 1,
      })
      .where('id', '=', next.id)
      .where('status', '=', next.status)
      .where('attempts', '=', next.attempts)
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) === 1) return { ...next, status: 'running', attempts: next.attempts + 1 };
  }
  return undefined;
}

/** Runs due jobs until none is left (or `limit` ran). Failures are retried up to MAX_ATTEMPTS, then kept as failed with the reason. */
export async function runGithubJobs(
  base: Pick<Ctx, 'db' | 'clock' | 'config'>,
  limit = 50,
): Promise<{ ran: number; failed: number }> {
  const ctx = systemCtx(base, 'github');
  let ran = 0;
  let failed = 0;
  while (ran < limit) {
    const job = await claim(ctx);
    if (!job) break;
    ran++;
    const handler = handlers[job.kind];
    try {
      if (!handler) throw new Error(`no handler for ${job.kind}`);
      await handler({ ...ctx, meta: { ...ctx.meta, requestId: job.id } }, job);
      await ctx.db
        .updateTable('github_jobs')
        .set({
          status: 'done',
          finished_at: ctx.clock.now().toISOString(),
          lease_owner: null,
          lease_until: null,
          last_error: null,
        })
        .where('id', '=', job.id)
        .execute();
    } catch (err) {
      failed++;
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      const final = job.attempts >= MAX_ATTEMPTS;
      await ctx.db
        .updateTable('github_jobs')
        .set({
          status: final ? 'failed' : 'queued',
          last_error: message,
          lease_owner: null,
          lease_until: null,
          ...(final ? { finished_at: ctx.clock.now().toISOString() } : {}),
        })
        .where('id', '=', job.id)
        .execute();
    }
  }
  return { ran, failed };
}

let inFlight: Promise<unknown> = Promise.resolve();

/** Starts a worker in this process now (the webhook endpoint calls it after queueing a scan). */
export function kickGithubJobs(base: Pick<Ctx, 'db' | 'clock' | 'config'>, log?: (err: unknown) => void): void {
  inFlight = inFlight.then(() => runGithubJobs(base).catch((err: unknown) => log?.(err)));
}

/** Resolves when every worker started by kickGithubJobs has finished (tests, shutdown). */
export function githubJobsSettled(): Promise<unknown> {
  return inFlight;
}

export function githubJobs(): JobDefinition[] {
  return [
    { name: 'github.scan', intervalMs: 10_000, leaseMs: LEASE_MS, run: async (ctx) => runGithubJobs(ctx) },
    {
      name: 'github.cleanup',
      intervalMs: 6 * 3600_000,
      run: async (ctx) => {
        const now = ctx.clock.now().getTime();
        const deliveries = await ctx.db
          .deleteFrom('github_webhook_deliveries')
          .where('received_at', '<', new Date(now - DELIVERY_RETENTION_DAYS * 86_400_000).toISOString())
          .executeTakeFirst();
        const jobs = await ctx.db
          .deleteFrom('github_jobs')
          .where('status', 'in', ['done', 'failed'])
          .where('finished_at', '<', new Date(now - 30 * 86_400_000).toISOString())
          .executeTakeFirst();
        return { deliveriesPurged: Number(deliveries.numDeletedRows), jobsPurged: Number(jobs.numDeletedRows) };
      },
    },
  ];
}
