import { sql } from 'kysely';
import type { Clock } from '../clock.js';
import type { PalisadeConfig } from '../config.js';
import type { Database } from '../db/connect.js';
import {
  type DatabaseFault,
  type StorageHealth,
  databaseFaultOf,
  noteDatabaseFault,
  probeStorage,
} from '../db/faults.js';
import { type JobHealth, jobHealth } from '../jobs/health.js';
import { DELIVERY_JOB, type StreamStall, streamStallOf, waitingEvents } from '../streams/health.js';

/**
 * One reading of everything an operator watches: does the database answer, can it be written,
 * is any job stalled, is any SIEM destination stalled or behind. /readyz shows it in summary (no
 * organization's data: it is unauthenticated) and /metrics in detail.
 */
export interface StreamHealthRow {
  streamId: string;
  orgId: string;
  kind: string;
  status: 'active' | 'paused' | 'dead_letter';
  lag: number;
  consecutiveFailures: number;
  stalled: StreamStall | null;
}

export interface HealthReport {
  at: string;
  databaseUp: boolean;
  /** The fault that made the database unreachable, when it is. */
  databaseFault: DatabaseFault | null;
  storage: StorageHealth;
  jobs: JobHealth[];
  streams: StreamHealthRow[];
  /** Audit events appended and not yet sealed into their chains (src/audit/seal.ts): normally sealed within a second. */
  auditSealing: { unsealedEvents: number; oldestUnsealedAt: string | null };
}

export interface HealthDeps {
  database: Database;
  clock: Clock;
  config: PalisadeConfig;
}

async function readStreams(deps: HealthDeps, jobs: JobHealth[], now: Date): Promise<StreamHealthRow[]> {
  const { db } = deps.database;
  // Each stream with its chain head and what waits to be sealed, in one statement (one snapshot):
  // see waitingEvents.
  const rows = await db
    .selectFrom('audit_streams')
    .selectAll('audit_streams')
    .select((eb) => [
      eb
        .selectFrom('audit_chain_heads')
        .select('seq')
        .whereRef('audit_chain_heads.org_id', '=', 'audit_streams.org_id')
        .as('head_seq'),
      eb
        .selectFrom('audit_pending')
        .select((p) => p.fn.countAll<number | string>().as('n'))
        .whereRef('audit_pending.org_id', '=', 'audit_streams.org_id')
        .as('pending_count'),
      eb
        .selectFrom('audit_pending')
        .select((p) => p.fn.min('occurred_at').as('m'))
        .whereRef('audit_pending.org_id', '=', 'audit_streams.org_id')
        .as('pending_oldest'),
    ])
    .orderBy('audit_streams.id')
    .execute();
  const job = jobs.find((j) => j.name === DELIVERY_JOB);
  const out: StreamHealthRow[] = [];
  for (const { head_seq, pending_count, pending_oldest, ...row } of rows) {
    const { lag, oldestPendingAt } = await waitingEvents(db, row, Number(head_seq ?? 0), {
      count: Number(pending_count ?? 0),
      oldestAt: pending_oldest ?? null,
    });
    const stalled =
      row.status === 'active' && lag > 0
        ? streamStallOf({ row, lag, oldestPendingAt, job }, now, deps.config.auditStreamStallSeconds * 1000)
        : null;
    out.push({
      streamId: row.id,
      orgId: row.org_id,
      kind: row.kind,
      status: row.status,
      lag,
      consecutiveFailures: Number(row.failures),
      stalled,
    });
  }
  return out;
}

export async function readHealth(deps: HealthDeps): Promise<HealthReport> {
  const now = deps.clock.now();
  const { db } = deps.database;
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    const fault = databaseFaultOf(err) ?? {
      code: 'database_unavailable',
      cause: 'database_unreachable',
      engineCode: '',
      engineMessage: err instanceof Error ? err.message.slice(0, 300) : String(err),
    };
    noteDatabaseFault(db, fault, now);
    return {
      at: now.toISOString(),
      databaseUp: false,
      databaseFault: fault,
      storage: {
        writable: false,
        cause: fault.cause,
        detail: fault.engineMessage,
        since: null,
        checkedAt: now.toISOString(),
      },
      jobs: [],
      streams: [],
      auditSealing: { unsealedEvents: 0, oldestUnsealedAt: null },
    };
  }
  // Wall-clock time for the probe's rate limit: a test clock may stand still.
  const storage = await probeStorage(db, new Date());
  const jobs = await jobHealth(db, now);
  const streams = await readStreams(deps, jobs, now);
  const unsealed = await db
    .selectFrom('audit_pending')
    .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.min('occurred_at').as('oldest')])
    .executeTakeFirst();
  return {
    at: now.toISOString(),
    databaseUp: true,
    databaseFault: null,
    storage,
    jobs,
    streams,
    auditSealing: { unsealedEvents: Number(unsealed?.n ?? 0), oldestUnsealedAt: unsealed?.oldest ?? null },
  };
}

/**
 * One reading shared by everyone who asks while it is under way: the gauges of one scrape (which
 * prom-client collects all at once) and readiness probes arriving together. The storage probe's
 * write is rate-limited on its own (probeStorage).
 */
export function sharedHealth(deps: HealthDeps): () => Promise<HealthReport> {
  let pending: Promise<HealthReport> | undefined;
  return () => {
    if (!pending) {
      pending = readHealth(deps);
      const done = () => (pending = undefined);
      pending.then(done, done);
    }
    return pending;
  };
}
