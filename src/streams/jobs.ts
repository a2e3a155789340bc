import type { PalisadeConfig } from '../config.js';
import type { JobDefinition } from '../jobs/scheduler.js';
import { deliverDue } from './deliver.js';

/**
 * SIEM delivery: a short-interval job with the scheduler's short, heartbeat-renewed lease; each
 * destination is also leased (same holder), so several processes never send the same batch at once.
 */
export function streamJobs(config: PalisadeConfig): JobDefinition[] {
  return [
    {
      name: 'streams.deliver',
      intervalMs: config.auditStreamIntervalSeconds * 1000,
      run: (ctx, run) => deliverDue(ctx, run),
    },
  ];
}
