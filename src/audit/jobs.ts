import { sql } from 'kysely';
import type { PalisadeConfig } from '../config.js';
import type { Db } from '../db/schema.js';
import { sqliteHandleOf } from '../db/connect.js';
import type { JobDefinition } from '../jobs/scheduler.js';
import { checkpointAll } from './checkpoints.js';
import { purgeAll } from './retention.js';

/** Retention purge (hourly) and periodic signed checkpoints. */
export function auditJobs(config: PalisadeConfig): JobDefinition[] {
  return [
    { name: 'audit.retention_purge', intervalMs: 3_600_000, run: (ctx) => purgeAll(ctx) },
    { name: 'audit.checkpoint', intervalMs: config.auditCheckpointMinutes * 60_000, run: (ctx) => checkpointAll(ctx) },
    { name: 'audit.db_optimize', intervalMs: 3_600_000, run: (ctx) => runDbOptimize(ctx.db) },
  ];
}

/**
 * Planner statistics for the audit tables. SQLite has no autovacuum-style ANALYZE: without
 * statistics its planner can pick the time index for "this actor in this week" and scan.
 * `PRAGMA optimize` (at start-up when due, then hourly) analyzes only the tables never analyzed or
 * grown tenfold since, so it is a no-op almost always. PostgreSQL's autovacuum
 * analyzes after enough churn; an explicit ANALYZE of the two audit tables keeps search plans
 * right between those runs.
 */
export async function runDbOptimize(db: Db): Promise<{ analyzed: string }> {
  if (sqliteHandleOf(db)) {
    await sql`pragma optimize = 0x10002`.execute(db);
    return { analyzed: 'sqlite' };
  }
  await sql`analyze audit_events, audit_event_targets`.execute(db);
  return { analyzed: 'postgres' };
}
