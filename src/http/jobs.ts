import type { JobDefinition } from '../jobs/scheduler.js';
import { purgeThrottleCounters } from './rate-limit.js';

export function rateLimitCleanupJob(): JobDefinition {
  return {
    name: 'rate_limits.cleanup',
    intervalMs: 3_600_000,
    run: async (ctx) => purgeThrottleCounters(ctx.db, ctx.clock.now()),
  };
}
