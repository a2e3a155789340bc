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
    { name: 'audit.retention_purge', intervalMs: 3_600_000, leaseMs: 30 * 60_000, run: (ctx) => purgeAll(ctx) },
    { name: 'audit.checkpoint', intervalMs: config.auditCheckpointMinutes * 60_000, run: (ctx) => checkpointAll(ctx) },
    { name: 'audit.db_optimize', intervalMs: 24 * 3_600_000, run: (ctx) => runDbOptimize(ctx.db) },
  ];
}

/**
 * SQLite has no autovacuum-style ANALYZE: without statistics its planner can pick the time index for
 * "this actor in this week" and scan. PostgreSQL's autovacuum also analyzes, but only after enough
 * churn; a daily explicit ANALYZE of one table is cheap on both.
 */
export async function runDbOptimize(db: Db): Promise<{ analyzed: string }> {
  await sql`analyze audit_events`.execute(db);
  return { analyzed: sqliteHandleOf(db) ? 'sqlite' : 'postgres' };
}
