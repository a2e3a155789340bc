import type { JobDefinition } from '../jobs/scheduler.js';
import { rewrapDataKeys } from './data-keys.js';

/** Moves every data key to the current KEK version after a master-key rotation. */
export function rewrapJob(): JobDefinition {
  return {
    name: 'crypto.rewrap_data_keys',
    intervalMs: 60 * 60_000,
    run: async (ctx) => rewrapDataKeys(ctx.db, ctx.config, ctx.clock.now()),
  };
}
