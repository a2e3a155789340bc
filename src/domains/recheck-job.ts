import type { Ctx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { CLAIMING } from './store.js';
import type { Domain } from './tables.js';
import { type Transition, applyCheck, checkDns } from './verify.js';

const BATCH = 200;
/** DNS lookups in flight at once: enough to finish thousands of domains quickly, gentle on the resolver. */
const PARALLEL = 8;

export const RECHECK_JOB = 'domains.recheck';

/** Checks every verified or failing domain once and applies the state machine (see applyCheck). */
export async function recheckDomains(ctx: Ctx): Promise<Record<Transition | 'checked', number>> {
  const counts: Record<Transition | 'checked', number> = {
    checked: 0,
    verified: 0,
    failing: 0,
    expired: 0,
    recovered: 0,
    unchanged: 0,
    conflict: 0,
  };
  const failures: string[] = [];
  let after = '';
  for (;;) {
    const batch: Domain[] = await ctx.db
      .selectFrom('domains')
      .selectAll()
      .where('status', 'in', CLAIMING)
      .where('id', '>', after)
      .orderBy('id')
      .limit(BATCH)
      .execute();
    if (batch.length === 0) break;
    after = (batch[batch.length - 1] as Domain).id;
    for (let i = 0; i < batch.length; i += PARALLEL) {
      await Promise.all(
        batch.slice(i, i + PARALLEL).map(async (d) => {
          try {
            const g = await checkDns(ctx, d, { fast: true });
            const { transition } = await applyCheck(ctx, d.org_id, d.id, g, 'job');
            counts.checked++;
            counts[transition]++;
          } catch (err) {
            // A domain removed meanwhile is simply gone; anything else must not stop the other domains.
            if (err instanceof PalisadeError && err.status === 404) return;
            failures.push(`${d.name}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }),
      );
    }
  }
  if (failures.length)
    throw new Error(
      `${failures.length} domain check(s) failed (others were applied): ${failures.slice(0, 5).join('; ')}`,
    );
  return counts;
}
