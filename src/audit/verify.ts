import type { Queryable } from '../db/schema.js';
import { countPendingAudit } from './seal.js';
import { type SignedCheckpoint, checkpointSignatureProblem, publishedKeys } from './checkpoints.js';
import { type AuditEvent, GENESIS_HASH, chainHash, eventFromRow, hashedContent } from './event.js';

export type ChainProblem =
  | 'content_modified' // the event's own fields no longer hash to its stored hash
  | 'chain_broken' // its predecessor hash is not the previous event's hash: dropped, inserted or reordered
  | 'sequence_gap' // sequence numbers skip or repeat
  | 'head_mismatch' // the newest events were removed or the head was rewritten
  | 'anchor_invalid'; // the purge anchor does not match a validly signed checkpoint

export interface ChainVerification {
  orgId: string;
  ok: boolean;
  eventsChecked: number;
  /** Seq the chain starts from: 1, or the first event kept after a retention purge. */
  firstSeq?: number;
  /** Events appended and not yet sealed into the chain (PALISADE_AUDIT_SEALING=batched): not verified here. */
  unsealedEvents: number;
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
  // After a purge the chain starts at the anchor, which must match a checkpoint signed at purge time.
  const anchor = await db.selectFrom('audit_anchors').selectAll().where('org_id', '=', orgId).executeTakeFirst();
  if (anchor) {
    const problem = await anchorProblem(db, orgId, Number(anchor.first_seq), anchor.prev_hash, anchor.checkpoint_id);
    if (problem)
      return {
        orgId,
        ok: false,
        eventsChecked: 0,
        unsealedEvents: await countPendingAudit(db, orgId),
        firstFailure: { eventId: null, seq: Number(anchor.first_seq), problem: 'anchor_invalid', explanation: problem },
      };
    expectedPrev = anchor.prev_hash;
    expectedSeq = Number(anchor.first_seq);
    lastSeq = expectedSeq - 1;
  }
  // The head is read first and events are checked up to it: a writer that commits meanwhile (a live
  // server) adds events and moves the head together, after it. Reading the head last reported
  // such a live chain as cut ("head_mismatch").
  const head = await db
    .selectFrom('audit_chain_heads')
    .select(['seq', 'hash'])
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  const headSeq = head ? Number(head.seq) : 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('seq', '>', lastSeq)
      .where('seq', '<=', headSeq)
      .orderBy('seq')
      .limit(batchSize)
      .execute();
    for (const row of rows) {
      const e = eventFromRow(row);
      const failure = checkEvent(e, expectedSeq, expectedPrev);
      if (failure)
        return {
          orgId,
          ok: false,
          eventsChecked: checked,
          firstFailure: failure,
          unsealedEvents: await countPendingAudit(db, orgId),
        };
      expectedPrev = e.hash;
      expectedSeq = e.seq + 1;
      lastSeq = e.seq;
      checked++;
    }
    if (rows.length < batchSize) break;
  }
  // Events past the head the chain was read at: a concurrent writer's (the head has moved past them
  // since) or rows added without the head (it has not).
  const beyond = await db
    .selectFrom('audit_events')
    .select('seq')
    .where('org_id', '=', orgId)
    .where('seq', '>', headSeq)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const headNow = beyond
    ? Number(
        (await db.selectFrom('audit_chain_heads').select('seq').where('org_id', '=', orgId).executeTakeFirst())?.seq ??
          0,
      )
    : headSeq;
  if (beyond && headNow < Number(beyond.seq)) lastSeq = Number(beyond.seq);
  if (headSeq !== lastSeq || (head && head.hash !== expectedPrev)) {
    return {
      orgId,
      ok: false,
      eventsChecked: checked,
      unsealedEvents: await countPendingAudit(db, orgId),
      firstFailure: {
        eventId: null,
        seq: headSeq,
        problem: 'head_mismatch',
        explanation: `The chain head records ${headSeq} events but the table ends at event ${lastSeq}: events after ${lastSeq} were removed, or the head was rewritten.`,
      },
    };
  }
  return {
    orgId,
    ok: true,
    eventsChecked: checked,
    firstSeq: anchor ? Number(anchor.first_seq) : 1,
    unsealedEvents: await countPendingAudit(db, orgId),
  };
}

async function anchorProblem(
  db: Queryable,
  orgId: string,
  firstSeq: number,
  prevHash: string,
  checkpointId: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('audit_checkpoints')
    .select(['id', 'payload', 'signature'])
    .where('id', '=', checkpointId)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) return `The purge anchor names checkpoint ${checkpointId}, which does not exist: the anchor was rewritten.`;
  const cp: SignedCheckpoint = {
    id: row.id,
    payload: JSON.parse(row.payload) as SignedCheckpoint['payload'],
    signature: row.signature,
  };
  const sig = checkpointSignatureProblem(cp, (await publishedKeys(db)).keys);
  if (sig) return `The purge anchor's ${sig}.`;
  if (cp.payload.seq !== firstSeq - 1 || cp.payload.hash !== prevHash)
    return `The purge anchor (events before ${firstSeq}, hash ${prevHash.slice(0, 12)}…) does not match its signed checkpoint (seq ${cp.payload.seq}, hash ${cp.payload.hash.slice(0, 12)}…): the anchor was rewritten.`;
  return undefined;
}

function checkEvent(e: AuditEvent, expectedSeq: number, expectedPrev: string): ChainVerification['firstFailure'] {
  if (e.seq !== expectedSeq) {
    return {
      eventId: e.id,
      seq: e.seq,
      problem: 'sequence_gap',
      explanation: `Expected event number ${expectedSeq} but found ${e.seq}: events were deleted or inserted before ${e.id}.`,
    };
  }
  if (e.prevHash !== expectedPrev) {
    return {
      eventId: e.id,
      seq: e.seq,
      problem: 'chain_broken',
      explanation: `Event ${e.id} does not link to the event before it: an event before it was removed, replaced or reordered.`,
    };
  }
  if (chainHash(e.prevHash, hashedContent(e)) !== e.hash) {
    return {
      eventId: e.id,
      seq: e.seq,
      problem: 'content_modified',
      explanation: `Event ${e.id} (${e.action}) was modified after it was written: its fields no longer match its hash.`,
    };
  }
  return undefined;
}
