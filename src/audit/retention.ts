import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { badRequest } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import type { Tx } from '../db/schema.js';
import { SYSTEM_CHAIN, targetIdsOf } from './event.js';
import { createCheckpoint } from './checkpoints.js';
import { recordAudit } from './record.js';
import { sealAllPendingAudit, sealPendingAudit } from './seal.js';

export const DEFAULT_RETENTION_DAYS = 30;
const DAY = 86_400_000;

export const AuditSettingsBody = Type.Object(
  {
    retentionDays: Type.Union([Type.Integer({ minimum: 1, maximum: 36_500 }), Type.Literal('forever')], {
      description: 'Days to keep audit events, or "forever".',
    }),
  },
  { additionalProperties: false },
);
export type AuditSettingsBody = Static<typeof AuditSettingsBody>;
export interface AuditSettings {
  retentionDays: number | 'forever';
  /** True when the organization never chose and the installation default applies. */
  isDefault: boolean;
}

export async function retentionOf(db: Ctx['db'], orgId: string, fallback: number): Promise<AuditSettings> {
  const row = await db
    .selectFrom('audit_settings')
    .select('retention_days')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) return { retentionDays: fallback, isDefault: true };
  return { retentionDays: row.retention_days === null ? 'forever' : Number(row.retention_days), isDefault: false };
}

export async function getAuditSettings(ctx: Ctx, orgId: string): Promise<AuditSettings> {
  await authorize(ctx, orgId, 'audit.read');
  return retentionOf(ctx.db, orgId, ctx.config.auditRetentionDays);
}

export async function updateAuditSettings(ctx: Ctx, orgId: string, body: AuditSettingsBody): Promise<AuditSettings> {
  await authorize(ctx, orgId, 'audit.manage');
  const days = body.retentionDays === 'forever' ? null : body.retentionDays;
  if (days !== null && (!Number.isInteger(days) || days < 1))
    throw badRequest('invalid_retention', 'retentionDays is a whole number of days (at least 1) or "forever".');
  const at = ctx.clock.now().toISOString();
  await ctx.db.transaction().execute(async (tx) => {
    const before = await retentionOf(tx, orgId, ctx.config.auditRetentionDays);
    await tx
      .insertInto('audit_settings')
      .values({ org_id: orgId, retention_days: days, updated_at: at })
      .onConflict((oc) => oc.column('org_id').doUpdateSet({ retention_days: days, updated_at: at }))
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'audit.retention_changed',
      targets: [{ type: 'organization', id: orgId }],
      metadata: { from: before.retentionDays, to: body.retentionDays },
    });
  });
  return { retentionDays: body.retentionDays, isDefault: false };
}

/**
 * Deletes one organization's expired events from the start of its chain, in batches. Only a prefix
 * of the chain is ever removed (up to the first event still inside the retention window), and each
 * batch moves the anchor and signs a checkpoint in the same transaction, so the kept events still
 * verify from the anchored predecessor hash.
 */
export async function purgeOrg(
  ctx: Pick<Ctx, 'db' | 'clock' | 'caller' | 'meta' | 'config'>,
  orgId: string,
  batchSize = 5000,
): Promise<number> {
  const { retentionDays } = await retentionOf(ctx.db, orgId, ctx.config.auditRetentionDays);
  if (retentionDays === 'forever') return 0;
  // The purge cuts the sealed chain: events still pending are sealed first, so none is left behind it.
  await sealPendingAudit(ctx.db, orgId);
  const cutoff = new Date(ctx.clock.now().getTime() - retentionDays * DAY).toISOString();
  // The first event inside the window bounds the purge: nothing at or after it is removed.
  const keep = await ctx.db
    .selectFrom('audit_events')
    .select('seq')
    .where('org_id', '=', orgId)
    .where('occurred_at', '>=', cutoff)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  // Events an active SIEM destination has not received yet are held (paused and dead-lettered ones do not hold retention).
  const held = await ctx.db
    .selectFrom('audit_streams')
    .select((eb) => eb.fn.min('cursor_seq').as('cursor'))
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .executeTakeFirst();
  const holdFrom = held?.cursor === null || held?.cursor === undefined ? undefined : Number(held.cursor) + 1;
  let deleted = 0;
  for (;;) {
    const n = await ctx.db.transaction().execute(async (tx) => {
      let q = tx
        .selectFrom('audit_events')
        .select(['seq', 'hash', 'id', 'occurred_at', 'targets'])
        .where('org_id', '=', orgId)
        .where('occurred_at', '<', cutoff);
      if (keep) q = q.where('seq', '<', Number(keep.seq));
      if (holdFrom !== undefined) q = q.where('seq', '<', holdFrom);
      const batch = await q.orderBy('seq').limit(batchSize).execute();
      const last = batch[batch.length - 1];
      if (!last) return 0;
      const lastSeq = Number(last.seq);
      await tx.deleteFrom('audit_events').where('org_id', '=', orgId).where('seq', '<=', lastSeq).execute();
      await deleteTargetRows(tx, orgId, batch);
      const cp = await createCheckpoint(
        tx,
        ctx.clock.now(),
        orgId,
        'purge',
        { seq: lastSeq, hash: last.hash },
        ctx.config,
      );
      const at = ctx.clock.now().toISOString();
      const anchor = { first_seq: lastSeq + 1, prev_hash: last.hash, checkpoint_id: cp.id, updated_at: at };
      await tx
        .insertInto('audit_anchors')
        .values({ org_id: orgId, ...anchor })
        .onConflict((oc) => oc.column('org_id').doUpdateSet(anchor))
        .execute();
      return batch.length;
    });
    deleted += n;
    if (n < batchSize) break;
  }
  if (deleted > 0 && orgId !== SYSTEM_CHAIN) {
    await ctx.db
      .transaction()
      .execute((tx) =>
        recordAudit(tx, ctx, { orgId, action: 'audit.purged', metadata: { deleted, retentionDays, before: cutoff } }),
      );
  }
  return deleted;
}

/** Removes the target-index rows of purged events by their full keys (the index is not keyed by seq). */
async function deleteTargetRows(
  tx: Tx,
  orgId: string,
  events: { id: string; occurred_at: string; targets: string }[],
): Promise<void> {
  const keys = events.flatMap((e) =>
    targetIdsOf(e.targets).map((targetId) => ({ targetId, at: e.occurred_at, id: e.id })),
  );
  for (let i = 0; i < keys.length; i += 200) {
    const chunk = keys.slice(i, i + 200);
    await tx
      .deleteFrom('audit_event_targets')
      .where('org_id', '=', orgId)
      .where((eb) =>
        eb.or(
          chunk.map((k) =>
            eb.and([eb('target_id', '=', k.targetId), eb('occurred_at', '=', k.at), eb('event_id', '=', k.id)]),
          ),
        ),
      )
      .execute();
  }
}

/** The retention job: every chain (organizations and the installation chain), idempotent. */
export async function purgeAll(
  ctx: Pick<Ctx, 'db' | 'clock' | 'caller' | 'meta' | 'config'>,
  batchSize?: number,
): Promise<{ orgs: number; deleted: number }> {
  await sealAllPendingAudit(ctx.db);
  const heads = await ctx.db.selectFrom('audit_chain_heads').select('org_id').execute();
  let deleted = 0;
  let orgs = 0;
  for (const h of heads) {
    const n = await purgeOrg(ctx, h.org_id, batchSize);
    if (n) orgs++;
    deleted += n;
  }
  return { orgs, deleted };
}
