import type { Ctx } from '../context.js';
import type { AuditEventRow, NewAuditEventRow, Tx } from '../db/schema.js';
import type { Cells } from '../db/raw-rows.js';
import type { Insertable } from 'kysely';
import type { AuditPendingTable } from './tables.js';
import { type AuditSealerHandle, appendsPending, auditSealerOf } from './sealer-registry.js';
import { newId } from '../ids.js';
import { sqliteHandleOf } from '../db/connect.js';
import type SQLite from 'better-sqlite3';
import type { AuditAction } from './actions.js';
import {
  type AuditActor,
  type AuditOutcome,
  type AuditTarget,
  GENESIS_HASH,
  canonicalJsonFast,
  chainHash,
  hashedContentFromParts,
} from './event.js';

export interface AuditEventInput {
  orgId: string;
  /** A declared action (`<noun>.<verb_past>`, see the domains' audit-actions.ts): a typo is a compile error. */
  action: AuditAction;
  outcome?: AuditOutcome;
  targets?: AuditTarget[];
  /** Ids, sizes, reasons. Never secrets or prompt text. */
  metadata?: Record<string, unknown>;
  /** Defaults to the caller of the context. */
  actor?: AuditActor;
}

export type NewAuditPendingRow = Insertable<AuditPendingTable>;

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const INSERT_CHUNK = 500;

export function actorOf(ctx: Pick<Ctx, 'caller' | 'meta'>): AuditActor {
  const { caller, meta } = ctx;
  const net = { ip: meta.ip, userAgent: meta.userAgent };
  switch (caller.kind) {
    case 'user':
      return {
        type: caller.via === 'api_token' ? 'api_token' : 'user',
        id: caller.userId,
        email: caller.email,
        ...net,
      };
    case 'system':
      return { type: 'system', id: caller.name, email: null, ...net };
    case 'anonymous':
      return { type: 'anonymous', id: null, email: null, ...net };
    case 'compliance_key':
      return { type: 'compliance_key', id: caller.keyId, email: null, ...net };
  }
}

/** Indexes of the inputs per organization, in order; a malformed action is a programming error. */
function groupByOrg(inputs: AuditEventInput[]): Map<string, number[]> {
  const byOrg = new Map<string, number[]>();
  inputs.forEach((input, i) => {
    if (!ACTION.test(input.action)) throw new Error(`audit action "${input.action}" must be dotted lower_snake words`);
    const list = byOrg.get(input.orgId);
    if (list) list.push(i);
    else byOrg.set(input.orgId, [i]);
  });
  return byOrg;
}

/**
 * The audit_pending rows of `inputs` (ids in input order), and the sealer told that they are on
 * their way. The caller inserts them in the statement or transaction that makes the change.
 */
export function pendingRowsOf(
  sealer: AuditSealerHandle,
  ctx: Pick<Ctx, 'clock' | 'caller' | 'meta'>,
  inputs: AuditEventInput[],
  byOrg: Map<string, number[]> = groupByOrg(inputs),
): { ids: string[]; pending: NewAuditPendingRow[] } {
  const at = ctx.clock.now();
  const occurredAt = at.toISOString();
  const defaultActor = actorOf(ctx);
  const ids: string[] = new Array(inputs.length);
  const pending: NewAuditPendingRow[] = [];
  for (const [orgId, indexes] of byOrg) {
    for (const i of indexes) {
      const input = inputs[i] as AuditEventInput;
      const actor = input.actor ?? defaultActor;
      const id = newId('evt', at);
      pending.push({
        id,
        org_id: orgId,
        occurred_at: occurredAt,
        actor_type: actor.type,
        actor_id: actor.id,
        actor_email: actor.email,
        actor_ip: actor.ip,
        actor_user_agent: actor.userAgent,
        action: input.action,
        targets: canonicalJsonFast(input.targets ?? []),
        outcome: input.outcome ?? 'success',
        metadata: canonicalJsonFast(input.metadata ?? {}),
        request_id: ctx.meta.requestId,
      });
      ids[i] = id;
    }
    sealer.noteAppended(orgId, ctx.meta.requestId);
  }
  return { ids, pending };
}

/**
 * The one way an audit event is written. Call it inside the transaction that makes the change,
 * so the change and its record commit together or not at all.
 */
export async function recordAudit(
  tx: Tx,
  ctx: Pick<Ctx, 'clock' | 'caller' | 'meta'> & { db?: Ctx['db'] },
  input: AuditEventInput,
): Promise<string> {
  const [id] = await recordAuditBatch(tx, ctx, [input]);
  return id as string;
}

/** Same as recordAudit for many events at once (imports, bulk changes): one chain lock per organization. */
export async function recordAuditBatch(
  tx: Tx,
  ctx: Pick<Ctx, 'clock' | 'caller' | 'meta'> & { db?: Ctx['db'] },
  inputs: AuditEventInput[],
): Promise<string[]> {
  const byOrg = groupByOrg(inputs);
  const sealer = ctx.db ? auditSealerOf(ctx.db) : undefined;
  if (sealer && appendsPending(sealer.mode)) {
    // Appended beside the change, in its transaction; linked into the chain by the sealer
    // (src/audit/seal.ts): before the response is sent (batched) or within a second (background).
    const { ids, pending } = pendingRowsOf(sealer, ctx, inputs, byOrg);
    for (let i = 0; i < pending.length; i += INSERT_CHUNK)
      await tx
        .insertInto('audit_pending')
        .values(pending.slice(i, i + INSERT_CHUNK))
        .execute();
    return ids;
  }

  const at = ctx.clock.now();
  const occurredAt = at.toISOString();
  const defaultActor = actorOf(ctx);
  const ids: string[] = new Array(inputs.length);
  const rows: NewAuditEventRow[] = [];
  const targetRows: TargetRow[] = [];
  for (const [orgId, indexes] of byOrg) {
    let { seq, hash } = await lockChainHead(tx, orgId);
    for (const i of indexes) {
      const input = inputs[i] as AuditEventInput;
      const actor = input.actor ?? defaultActor;
      const targetsJson = canonicalJsonFast(input.targets ?? []);
      const metadataJson = canonicalJsonFast(input.metadata ?? {});
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
      pushTargetRows(targetRows, orgId, occurredAt, event.id, input.targets);
      ids[i] = event.id;
      seq = event.seq;
      hash = nextHash;
    }
    await tx.updateTable('audit_chain_heads').set({ seq, hash }).where('org_id', '=', orgId).execute();
  }
  await insertChainedRows(tx, ctx.db, rows, targetRows);
  return ids;
}

/**
 * Inserts events that already carry their chain links, and their target index rows. The caller holds
 * the chain head of every organization involved (inline writes and the sealer both do).
 */
export async function insertChainedRows(
  tx: Tx,
  db: Ctx['db'] | undefined,
  rows: NewAuditEventRow[],
  targetRows: TargetRow[],
): Promise<void> {
  const raw = db ? sqliteHandleOf(db) : undefined;
  if (raw?.inTransaction) {
    // SQLite fast path: the same rows through one cached prepared statement (same table, same values).
    insertRowsSqlite(raw, rows, targetRows);
    return;
  }
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await tx
      .insertInto('audit_events')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .execute();
  }
  for (let i = 0; i < targetRows.length; i += INSERT_CHUNK) {
    await tx
      .insertInto('audit_event_targets')
      .values(targetRows.slice(i, i + INSERT_CHUNK))
      .execute();
  }
}

export type TargetRow = { org_id: string; target_id: string; occurred_at: string; event_id: string };

/** One index row per distinct target id the event names (an event naming one id twice is indexed once). */
function pushTargetRows(
  out: TargetRow[],
  orgId: string,
  occurredAt: string,
  eventId: string,
  targets: AuditTarget[] | undefined,
): void {
  if (!targets?.length) return;
  for (let k = 0; k < targets.length; k++) {
    const id = (targets[k] as AuditTarget).id;
    if (!id) continue;
    let seen = false;
    for (let j = 0; j < k; j++) if ((targets[j] as AuditTarget).id === id) seen = true;
    if (!seen) out.push({ org_id: orgId, target_id: id, occurred_at: occurredAt, event_id: eventId });
  }
}

/**
 * Takes the organization's chain head under a row lock (the no-op UPDATE locks the row on
 * PostgreSQL; SQLite runs one writer at a time), so concurrent writers extend one chain in order.
 */
export async function lockChainHead(tx: Tx, orgId: string): Promise<{ seq: number; hash: string }> {
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

/** Every column of an audit event row, in one order: the batched insert and row-as-array readers use it. */
export const AUDIT_EVENT_COLUMNS = [
  'id',
  'org_id',
  'seq',
  'occurred_at',
  'actor_type',
  'actor_id',
  'actor_email',
  'actor_ip',
  'actor_user_agent',
  'action',
  'targets',
  'outcome',
  'metadata',
  'request_id',
  'prev_hash',
  'hash',
] as const;

/** A stored row read as cells in AUDIT_EVENT_COLUMNS order (src/db/raw-rows.ts). */
export function auditRowFromCells(c: Cells): AuditEventRow {
  return {
    id: c[0] as string,
    org_id: c[1] as string,
    seq: c[2] as number,
    occurred_at: c[3] as string,
    actor_type: c[4] as string,
    actor_id: c[5] as string | null,
    actor_email: c[6] as string | null,
    actor_ip: c[7] as string | null,
    actor_user_agent: c[8] as string | null,
    action: c[9] as string,
    targets: c[10] as string,
    outcome: c[11] as AuditEventRow['outcome'],
    metadata: c[12] as string,
    request_id: c[13] as string | null,
    prev_hash: c[14] as string,
    hash: c[15] as string,
  };
}
const ROWS_PER_STATEMENT = 50;
const statements = new WeakMap<
  SQLite.Database,
  { one: SQLite.Statement; many: SQLite.Statement; target: SQLite.Statement }
>();

function insertRowsSqlite(handle: SQLite.Database, rows: NewAuditEventRow[], targetRows: TargetRow[]): void {
  let st = statements.get(handle);
  if (!st) {
    const tuple = `(${AUDIT_EVENT_COLUMNS.map(() => '?').join(',')})`;
    const head = `insert into audit_events (${AUDIT_EVENT_COLUMNS.join(',')}) values `;
    st = {
      one: handle.prepare(head + tuple),
      many: handle.prepare(head + Array(ROWS_PER_STATEMENT).fill(tuple).join(',')),
      target: handle.prepare(
        'insert into audit_event_targets (org_id, target_id, occurred_at, event_id) values (?, ?, ?, ?)',
      ),
    };
    statements.set(handle, st);
  }
  // Values pushed in AUDIT_EVENT_COLUMNS order straight into one flat array: no per-row arrays to collect.
  const push = (out: (string | number | null)[], r: NewAuditEventRow): void => {
    out.push(
      r.id,
      r.org_id,
      r.seq,
      r.occurred_at,
      r.actor_type,
      r.actor_id ?? null,
      r.actor_email ?? null,
      r.actor_ip ?? null,
      r.actor_user_agent ?? null,
      r.action,
      r.targets,
      r.outcome,
      r.metadata,
      r.request_id ?? null,
      r.prev_hash,
      r.hash,
    );
  };
  const params: (string | number | null)[] = [];
  let i = 0;
  for (; i + ROWS_PER_STATEMENT <= rows.length; i += ROWS_PER_STATEMENT) {
    params.length = 0;
    for (let k = i; k < i + ROWS_PER_STATEMENT; k++) push(params, rows[k] as NewAuditEventRow);
    st.many.run(params);
  }
  for (; i < rows.length; i++) {
    params.length = 0;
    push(params, rows[i] as NewAuditEventRow);
    st.one.run(params);
  }
  for (const t of targetRows) st.target.run(t.org_id, t.target_id, t.occurred_at, t.event_id);
}
