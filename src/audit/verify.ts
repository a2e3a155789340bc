import type { Queryable } from '../db/schema.js';
import { type AuditEvent, GENESIS_HASH, chainHash, eventFromRow, hashedContent } from './event.js';

export type ChainProblem =
  | 'content_modified' // the event's own fields no longer hash to its stored hash
  | 'chain_broken' // its predecessor hash is not the previous event's hash: dropped, inserted or reordered
  | 'sequence_gap' // sequence numbers skip or repeat
  | 'head_mismatch'; // the newest events were removed or the head was rewritten

export interface ChainVerification {
  orgId: string;
  ok: boolean;
  eventsChecked: number;
  firstFailure?: { eventId: string | null; seq: number; problem: ChainProblem; explanation: string };
}

/**
 * Walks an organization's chain from its first event, recomputing every hash. Stops at the first
 * event that does not verify and names it; everything before it is proven intact.
 */
export async function verifyChain(db: Queryable, orgId: string, batchSize = 2000): Promise<ChainVerification> {
  let expectedPrev = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  let lastSeq = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('seq', '>', lastSeq)
      .orderBy('seq')
      .limit(batchSize)
      .execute();
    for (const row of rows) {
      const e = eventFromRow(row);
      const failure = checkEvent(e, expectedSeq, expectedPrev);
      if (failure) return { orgId, ok: false, eventsChecked: checked, firstFailure: failure };
      expectedPrev = e.hash;
      expectedSeq = e.seq + 1;
      lastSeq = e.seq;
      checked++;
    }
    if (rows.length < batchSize) break;
  }
  const head = await db.selectFrom('audit_chain_heads').select(['seq', 'hash']).where('org_id', '=', orgId).executeTakeFirst();
  const headSeq = head ? Number(head.seq) : 0;
  if (headSeq !== lastSeq || (head && head.hash !== expectedPrev)) {
    return {
      orgId,
      ok: false,
      eventsChecked: checked,
      firstFailure: {
        eventId: null,
        seq: headSeq,
        problem: 'head_mismatch',
        explanation: `The chain head records ${headSeq} events but the table ends at event ${lastSeq}: events after ${lastSeq} were removed, or the head was rewritten.`,
      },
    };
  }
  return { orgId, ok: true, eventsChecked: checked };
}

function checkEvent(e: AuditEvent, expectedSeq: number, expectedPrev: string): ChainVerification['firstFailure'] {
  if (e.seq !== expectedSeq) {
    return { eventId: e.id, seq: e.seq, problem: 'sequence_gap', explanation: `Expected event number ${expectedSeq} but found ${e.seq}: events were deleted or inserted before ${e.id}.` };
  }
  if (e.prevHash !== expectedPrev) {
    return { eventId: e.id, seq: e.seq, problem: 'chain_broken', explanation: `Event ${e.id} does not link to the event before it: an event before it was removed, replaced or reordered.` };
  }
  if (chainHash(e.prevHash, hashedContent(e)) !== e.hash) {
    return { eventId: e.id, seq: e.seq, problem: 'content_modified', explanation: `Event ${e.id} (${e.action}) was modified after it was written: its fields no longer match its hash.` };
  }
  return undefined;
}
