import type { Ctx } from '../context.js';
import type { NewAuditEventRow, Tx } from '../db/schema.js';
import { newId } from '../ids.js';
import { type AuditActor, type AuditOutcome, type AuditTarget, GENESIS_HASH, canonicalJson, chainHash, hashedContentFromParts } from './event.js';

export interface AuditEventInput {
  orgId: string;
  /** Dotted name, `domain.verb_past`: `member.role_changed`, `auth.login_failed`. */
  action: string;
  outcome?: AuditOutcome;
  targets?: AuditTarget[];
  /** Ids, sizes, reasons. Never secrets or prompt text. */
  metadata?: Record<string, unknown>;
  /** Defaults to the caller of the context. */
  actor?: AuditActor;
}

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const INSERT_CHUNK = 500;

export function actorOf(ctx: Pick<Ctx, 'caller' | 'meta'>): AuditActor {
  const { caller, meta } = ctx;
  const net = { ip: meta.ip, userAgent: meta.userAgent };
  switch (caller.kind) {
    case 'user':
      return { type: caller.via === 'api_token' ? 'api_token' : 'user', id: caller.userId, email: caller.email, ...net };
    case 'system':
      return { type: 'system', id: caller.name, email: null, ...net };
    case 'anonymous':
      return { type: 'anonymous', id: null, email: null, ...net };
  }
}

/**
 * The one way an audit event is written. Call it inside the transaction that makes the change,
 * so the change and its record commit together or not at all.
 */
export async function recordAudit(tx: Tx, ctx: Pick<Ctx, 'clock' | 'caller' | 'meta'>, input: AuditEventInput): Promise<string> {
  const [id] = await recordAuditBatch(tx, ctx, [input]);
  return id as string;
}

/** Same as recordAudit for many events at once (imports, bulk changes): one chain lock per organization. */
export async function recordAuditBatch(tx: Tx, ctx: Pick<Ctx, 'clock' | 'caller' | 'meta'>, inputs: AuditEventInput[]): Promise<string[]> {
  const at = ctx.clock.now();
  const occurredAt = at.toISOString();
  const defaultActor = actorOf(ctx);
  const byOrg = new Map<string, number[]>();
  inputs.forEach((input, i) => {
    if (!ACTION.test(input.action)) throw new Error(`audit action "${input.action}" must be dotted lower_snake words`);
    const list = byOrg.get(input.orgId);
    if (list) list.push(i);
    else byOrg.set(input.orgId, [i]);
  });

  const ids: string[] = new Array(inputs.length);
  const rows: NewAuditEventRow[] = [];
  for (const [orgId, indexes] of byOrg) {
    let { seq, hash } = await lockChainHead(tx, orgId);
    for (const i of indexes) {
      const input = inputs[i] as AuditEventInput;
      const actor = input.actor ?? defaultActor;
      const targetsJson = canonicalJson(input.targets ?? []);
      const metadataJson = canonicalJson(input.metadata ?? {});
      const event = {
        id: newId('evt', at),
        orgId,
        seq: seq + 1,
        occurredAt,
        actor,
        action: input.action,
        outcome: input.outcome ?? 'success',
        requestId: ctx.meta.requestId,
      };
      const nextHash = chainHash(hash, hashedContentFromParts(event, targetsJson, metadataJson));
      rows.push({
        id: event.id,
        org_id: orgId,
        seq: event.seq,
        occurred_at: occurredAt,
        actor_type: actor.type,
        actor_id: actor.id,
        actor_email: actor.email,
        actor_ip: actor.ip,
        actor_user_agent: actor.userAgent,
        action: event.action,
        targets: targetsJson,
        outcome: event.outcome,
        metadata: metadataJson,
        request_id: event.requestId,
        prev_hash: hash,
        hash: nextHash,
      });
      ids[i] = event.id;
      seq = event.seq;
      hash = nextHash;
    }
    await tx.updateTable('audit_chain_heads').set({ seq, hash }).where('org_id', '=', orgId).execute();
  }
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await tx.insertInto('audit_events').values(rows.slice(i, i + INSERT_CHUNK)).execute();
  }
  return ids;
}

/**
 * Takes the organization's chain head under a row lock (the no-op UPDATE locks the row on
 * PostgreSQL; SQLite runs one writer at a time), so concurrent writers extend one chain in order.
 */
async function lockChainHead(tx: Tx, orgId: string): Promise<{ seq: number; hash: string }> {
  const take = () =>
    tx
      .updateTable('audit_chain_heads')
      .set((eb) => ({ seq: eb.ref('seq') }))
      .where('org_id', '=', orgId)
      .returning(['seq', 'hash'])
      .executeTakeFirst();
  let head = await take();
  if (!head) {
    // First event of this chain; a concurrent first writer makes this a no-op, then we queue on its lock.
    await tx
      .insertInto('audit_chain_heads')
      .values({ org_id: orgId, seq: 0, hash: GENESIS_HASH })
      .onConflict((oc) => oc.column('org_id').doNothing())
      .execute();
    head = await take();
  }
  if (!head) throw new Error(`audit chain head for ${orgId} could not be locked`);
  return { seq: Number(head.seq), hash: head.hash };
}
