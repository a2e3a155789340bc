import type { JobDefinition } from '../jobs/scheduler.js';
import { deliverDueEmail } from './deliver.js';

export function emailDeliveryJob(): JobDefinition {
  return {
    name: 'email.deliver',
    intervalMs: 5_000,
    leaseMs: 10 * 60_000,
    run: async (ctx) => ({ ...(await deliverDueEmail(ctx)) }),
  };
}

/** Erases bodies of dead messages whose links have expired, and forgets sent messages after 30 days. */
export function emailCleanupJob(): JobDefinition {
  return {
    name: 'email.cleanup',
    intervalMs: 3_600_000,
    run: async (ctx) => {
      const now = ctx.clock.now();
      const cutoff = new Date(now.getTime() - 30 * 86_400_000).toISOString();
      const linkCutoff = new Date(now.getTime() - ctx.config.linkTtlHours * 3_600_000).toISOString();
      const erased = await ctx.db
        .updateTable('email_outbox')
        .set({ body_ct: null, body_key: null })
        .where('status', '=', 'dead')
        .where('created_at', '<', linkCutoff)
        .where('body_ct', 'is not', null)
        .executeTakeFirst();
      const deleted = await ctx.db
        .deleteFrom('email_outbox')
        .where('status', 'in', ['sent', 'dead'])
        .where('created_at', '<', cutoff)
        .executeTakeFirst();
      return { erased: Number(erased.numUpdatedRows), deleted: Number(deleted.numDeletedRows) };
    },
  };
}
