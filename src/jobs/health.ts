import type { Db } from '../db/schema.js';
import { type JobStatus, jobStatuses } from './scheduler.js';

/**
 * Whether each job is doing its work, told from its lease row alone, so any process (the readiness
 * check, /metrics, the CLI) can answer. A job is stalled when:
 * - `overdue`: it was due more than a grace period ago and has not started: no live process runs
 *   the scheduler, or the one holding its lease died on another host and the lease has not expired;
 * - `holder_gone`: its lease is past its expiry without having been released (the holder stopped
 *   renewing it: it crashed or hangs), and nobody has taken it over;
 * - `failing`: its last FAILING_RUNS runs or more failed in a row.
 */
export type JobStallCode = 'overdue' | 'holder_gone' | 'failing';

export interface JobStall {
  code: JobStallCode;
  /** Since when (ISO): the due time it missed, the lease expiry, or the last failed run. */
  since: string;
  reason: string;
}

export interface JobHealth extends JobStatus {
  stalled: JobStall | null;
}

export const FAILING_RUNS = 3;

/** Grace after the due time: two intervals, at least a minute (a busy process polls every 5 s at most). */
export function overdueGraceMs(intervalMs: number | null): number {
  return Math.max(60_000, 2 * (intervalMs ?? 0));
}

export function jobStallOf(j: JobStatus, now: Date): JobStall | null {
  const at = now.toISOString();
  if (j.holder !== null && j.leaseUntil !== null && j.leaseUntil < at) {
    const expiredFor = now.getTime() - Date.parse(j.leaseUntil);
    if (expiredFor > overdueGraceMs(null)) {
      return {
        code: 'holder_gone',
        since: j.leaseUntil,
        reason: `its lease expired at ${j.leaseUntil} (last heartbeat ${j.heartbeatAt ?? 'never'}) without being released and no process has taken it over: is a Palisade server running its scheduler?`,
      };
    }
  }
  if (!j.running && now.getTime() - Date.parse(j.nextRunAt) > overdueGraceMs(j.intervalMs)) {
    return {
      code: 'overdue',
      since: j.nextRunAt,
      reason: `due since ${j.nextRunAt} and not started (last started ${j.lastStartedAt ?? 'never'}): no Palisade process is running the job scheduler, or none can reach the database`,
    };
  }
  if (j.consecutiveFailures >= FAILING_RUNS) {
    return {
      code: 'failing',
      since: j.lastFinishedAt ?? j.lastStartedAt ?? j.nextRunAt,
      reason: `its last ${j.consecutiveFailures} runs failed; the last error: ${j.lastError ?? 'unknown'}`,
    };
  }
  return null;
}

export async function jobHealth(db: Db, now: Date): Promise<JobHealth[]> {
  return (await jobStatuses(db, now)).map((j) => ({ ...j, stalled: jobStallOf(j, now) }));
}
