import type { AuditStreamsTable } from '../audit/tables.js';
import type { Db } from '../db/schema.js';
import { jobStallOf } from '../jobs/health.js';
import type { JobStatus } from '../jobs/scheduler.js';
import { firstEventAfter } from './backlog.js';
import { CIRCUIT_THRESHOLD } from './deliver.js';

/**
 * A destination is stalled when events wait (lag > 0) and nothing has been delivered for
 * PALISADE_AUDIT_STREAM_STALL_SECONDS: since the later of its last successful batch and the
 * oldest waiting event. The reason says which part stopped, from what the database shows:
 * - `delivery_failing`: attempts fail (the receiver refuses or cannot be reached);
 * - `delivery_job_not_running`: the streams.deliver job is overdue or its holder is gone;
 * - `delivery_job_failing`: the job itself fails (the database, the key provider);
 * - `destination_lease_held`: another process holds this destination and delivers nothing;
 * - `no_progress`: none of the above explains it (a run that never reaches this destination).
 * Paused and dead-lettered destinations are not stalled: their state already says why.
 */
export type StreamStallCode =
  'delivery_failing' | 'delivery_job_not_running' | 'delivery_job_failing' | 'destination_lease_held' | 'no_progress';

export interface StreamStall {
  code: StreamStallCode;
  since: string;
  reason: string;
}

export const DELIVERY_JOB = 'streams.deliver';

export interface StreamFacts {
  row: AuditStreamsTable;
  /** Events not yet delivered (see {@link waitingEvents}). */
  lag: number;
  /** When the oldest event not yet delivered was recorded; null when none waits (or it was purged). */
  oldestPendingAt: string | null;
  /** The delivery job's lease row; undefined when it never ran. */
  job: JobStatus | undefined;
}

export function streamStallOf(f: StreamFacts, now: Date, stallAfterMs: number): StreamStall | null {
  const { row, lag } = f;
  if (row.status !== 'active' || lag <= 0) return null;
  const progressMarks = [row.last_success_at, f.oldestPendingAt ?? row.created_at].filter(
    (v): v is string => v !== null,
  );
  const since = progressMarks.reduce((a, b) => (a > b ? a : b));
  if (now.getTime() - Date.parse(since) < stallAfterMs) return null;
  const failures = Number(row.failures);
  if (failures > 0) {
    const circuit = failures >= CIRCUIT_THRESHOLD ? ' (circuit open: attempts are spaced up to 5 minutes apart)' : '';
    return {
      code: 'delivery_failing',
      since,
      reason: `${lag} events wait and the last ${failures} attempts failed${circuit}: ${row.last_error ?? 'no error recorded'}`,
    };
  }
  if (!f.job)
    return {
      code: 'delivery_job_not_running',
      since,
      reason: `${lag} events wait and the ${DELIVERY_JOB} job has never run: no Palisade server with its job scheduler runs against this database`,
    };
  const jobStall = jobStallOf(f.job, now);
  if (jobStall && jobStall.code !== 'failing')
    return {
      code: 'delivery_job_not_running',
      since,
      reason: `${lag} events wait and the ${DELIVERY_JOB} job ${jobStall.code === 'overdue' ? `has not started since it was due at ${jobStall.since}` : `lost its holder at ${jobStall.since}`}: no Palisade process is running the job scheduler, or none can reach the database`,
    };
  if (f.job.lastStatus === 'failed')
    return {
      code: 'delivery_job_failing',
      since,
      reason: `${lag} events wait and the ${DELIVERY_JOB} job fails: ${f.job.lastError ?? 'no error recorded'}`,
    };
  if (row.lease_owner !== null && row.lease_until !== null && row.lease_until >= now.toISOString()) {
    return {
      code: 'destination_lease_held',
      since,
      reason: `${lag} events wait and another Palisade process holds this destination (lease until ${row.lease_until}) without delivering`,
    };
  }
  return {
    code: 'no_progress',
    since,
    reason: `${lag} events wait and nothing was delivered since ${since}, although delivery runs`,
  };
}

export interface WaitingEvents {
  /** Sealed events after the cursor, plus events recorded but not yet sealed into the chain. */
  lag: number;
  /** When the oldest of them was recorded (null when none waits). */
  oldestPendingAt: string | null;
}

/**
 * What waits for a destination. With batched sealing (docs/audit-log.md "Sealing") an event is
 * recorded before it has a seq: for up to a sweep interval it sits in audit_pending. It is waiting
 * all the same, so health, /metrics and the alerts count it: a backlog written by background work
 * must not read as "caught up" until a sealer runs. `headSeq` and `unsealed` must come from ONE
 * statement: a seal commits moving events from pending to the chain and the head forward together,
 * and two separate reads around it counted those events in neither (a stalled destination then read
 * as caught up).
 */
export async function waitingEvents(
  db: Db,
  row: Pick<AuditStreamsTable, 'org_id' | 'cursor_seq'>,
  headSeq: number,
  unsealed: { count: number; oldestAt: string | null },
): Promise<WaitingEvents> {
  const sealedLag = Math.max(0, headSeq - Number(row.cursor_seq));
  const lag = sealedLag + unsealed.count;
  if (lag === 0) return { lag, oldestPendingAt: null };
  const oldestSealed =
    sealedLag > 0 ? ((await firstEventAfter(db, row.org_id, Number(row.cursor_seq)))?.occurredAt ?? null) : null;
  return { lag, oldestPendingAt: oldestSealed ?? unsealed.oldestAt };
}
