import type { PalisadeConfig } from '../config.js';
import type { JobDefinition } from '../jobs/scheduler.js';
import { checkpointAll } from './checkpoints.js';
import { purgeAll } from './retention.js';

/** Retention purge (hourly) and periodic signed checkpoints. */
export function auditJobs(config: PalisadeConfig): JobDefinition[] {
  return [
    { name: 'audit.retention_purge', intervalMs: 3_600_000, leaseMs: 30 * 60_000, run: (ctx) => purgeAll(ctx) },
    { name: 'audit.checkpoint', intervalMs: config.auditCheckpointMinutes * 60_000, run: (ctx) => checkpointAll(ctx) },
  ];
}
