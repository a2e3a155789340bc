import type { Db } from '../db/schema.js';

/**
 * The first event after a destination's cursor, cheaply whatever the backlog: a chain's seqs have
 * no gaps, so it is seq = cursor + 1 (one index lookup). Only when a retention purge removed that
 * event (the cursor is before the first kept one) is the smallest later seq looked up.
 * ("seq > cursor ORDER BY seq LIMIT 1" let PostgreSQL, without fresh statistics, scan and sort the
 * whole backlog: a second per call at a million waiting events.)
 */
export async function firstEventAfter(
  db: Db,
  orgId: string,
  cursor: number,
): Promise<{ seq: number; occurredAt: string } | undefined> {
  const exact = await db
    .selectFrom('audit_events')
    .select(['seq', 'occurred_at'])
    .where('org_id', '=', orgId)
    .where('seq', '=', cursor + 1)
    .executeTakeFirst();
  if (exact) return { seq: Number(exact.seq), occurredAt: exact.occurred_at };
  const min = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.min('seq').as('seq'))
    .where('org_id', '=', orgId)
    .where('seq', '>', cursor)
    .executeTakeFirst();
  if (min?.seq === null || min?.seq === undefined) return undefined;
  const row = await db
    .selectFrom('audit_events')
    .select(['seq', 'occurred_at'])
    .where('org_id', '=', orgId)
    .where('seq', '=', Number(min.seq))
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), occurredAt: row.occurred_at } : undefined;
}
