import type { Queryable } from '../db/schema.js';
import { type AccessReader, registerAccessReader } from '../lockout/guard.js';
import { type ReplayBaseline, evaluateAccess, replayBaseline } from './evaluate.js';
import { type AccessWorld, loadAccessWorld } from './world.js';

/**
 * The lockout guard's reading of an organization's access (src/lockout/guard.ts): the world loaded
 * in bulk, then every member's ways in evaluated against it. Registered with the guard when this
 * module loads; app.ts and scheduled-jobs.ts import it.
 */
export const readAccess: AccessReader = async (
  db: Queryable,
  orgId: string,
  now: Date,
  baseline?: ReplayBaseline & { logins: AccessWorld['logins'] },
) => {
  const world = await loadAccessWorld(db, orgId, now, baseline);
  const base = baseline ?? replayBaseline(world);
  return { world, baseline: base, people: await evaluateAccess(db, world, base) };
};

registerAccessReader(readAccess);
