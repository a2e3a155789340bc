import type { PalisadeConfig } from '../config.js';
import type { JobDefinition } from '../jobs/scheduler.js';
import { deliverDue } from './deliver.js';

/** SIEM delivery: a short-interval job; each destination is also leased, so several processes never send the same batch at once. */
export function streamJobs(config: PalisadeConfig): JobDefinition[] {
  return [{ name: 'streams.deliver', intervalMs: config.auditStreamIntervalSeconds * 1000, leaseMs: 5 * 60_000, run: (ctx) => deliverDue(ctx) }];
}
