import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { destroyContentKeys } from '../crypto/content-keys.js';
import { flushErasedPages } from '../db/wal.js';
import type { Queryable } from '../db/schema.js';
import { authorize } from '../orgs/authorize.js';
import { activeHolds, effectivePolicy } from '../policy/policy.js';

/** Retention: what a period would delete, and the purge that deletes it (outside legal holds). */

export const PurgePreview = Type.Object({
  retentionDays: Type.Integer(),
  conversations: Type.Integer(),
  messages: Type.Integer(),
  files: Type.Integer(),
  heldByLegalHold: Type.Boolean(),
});
export type PurgePreview = Static<typeof PurgePreview>;

const DAY = 86_400_000;

/** What a period would delete now (content older than it, outside legal holds). */
export async function countExpired(db: Queryable, orgId: string, days: number, now: Date): Promise<PurgePreview> {
  const holds = await activeHolds(db, orgId);
  const cutoff = new Date(now.getTime() - days * DAY).toISOString();
  if (holds.orgHeld) return { retentionDays: days, conversations: 0, messages: 0, files: 0, heldByLegalHold: true };
  const held = [...holds.users];
  let c = db
    .selectFrom('workspace_conversations')
    .select('id')
    .where('org_id', '=', orgId)
    .where('last_message_at', '<', cutoff);
  let f = db
    .selectFrom('workspace_files')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', orgId)
    .where('created_at', '<', cutoff);
  if (held.length) {
    c = c.where('user_id', 'not in', held);
    f = f.where('user_id', 'not in', held);
  }
  const convIds = (await c.execute()).map((r) => r.id);
  let messages = 0;
  for (let i = 0; i < convIds.length; i += 500) {
    const m = await db
      .selectFrom('workspace_messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('conversation_id', 'in', convIds.slice(i, i + 500))
      .executeTakeFirstOrThrow();
    messages += Number(m.n);
  }
  return {
    retentionDays: days,
    conversations: convIds.length,
    messages,
    files: Number((await f.executeTakeFirstOrThrow()).n),
    heldByLegalHold: false,
  };
}

export async function previewRetention(ctx: Ctx, orgId: string, days: number): Promise<PurgePreview> {
  await authorize(ctx, orgId, 'org.update');
  return countExpired(ctx.db, orgId, days, ctx.clock.now());
}

/**
 * Deletes content past each organization's retention, in batches, outside legal holds. Safe to
 * run twice or from two processes: each batch re-selects what is still expired, and deletes of
 * rows already gone are no-ops. One audit event per organization per run, with counts.
 */
export async function purgeExpiredContent(
  ctx: Ctx,
  batchSize = 500,
): Promise<{ organizations: number; conversations: number; messages: number; files: number; keysDestroyed: number }> {
  const now = ctx.clock.now();
  const orgRows = await ctx.db
    .selectFrom('workspace_conversations')
    .select('org_id')
    .union(ctx.db.selectFrom('workspace_files').select('org_id'))
    .execute();
  const totals = { organizations: 0, conversations: 0, messages: 0, files: 0, keysDestroyed: 0 };
  for (const orgId of [...new Set(orgRows.map((r) => r.org_id))].sort()) {
    const policy = await effectivePolicy(ctx.db, ctx.config, orgId);
    const holds = await activeHolds(ctx.db, orgId);
    if (holds.orgHeld) continue;
    const held = [...holds.users];
    const cutoff = new Date(now.getTime() - policy.retentionDays * DAY).toISOString();
    let conversations = 0;
    let messages = 0;
    let files = 0;
    let keys = 0;
    for (;;) {
      let q = ctx.db
        .selectFrom('workspace_conversations')
        .select('id')
        .where('org_id', '=', orgId)
        .where('last_message_at', '<', cutoff);
      if (held.length) q = q.where('user_id', 'not in', held);
      const ids = (await q.orderBy('id').limit(batchSize).execute()).map((r) => r.id);
      if (ids.length === 0) break;
      await ctx.db.transaction().execute(async (tx) => {
        // Re-checked inside the transaction: a message that arrived meanwhile keeps its conversation (and key).
        const expired = await tx
          .selectFrom('workspace_conversations')
          .select(['id', 'content_key_id'])
          .where('id', 'in', ids)
          .where('last_message_at', '<', cutoff)
          .execute();
        if (expired.length === 0) return;
        const expiredIds = expired.map((r) => r.id);
        // Keys of messages too: a legacy message, or one sealed under a key the conversation no longer names.
        const msgKeys = await tx
          .selectFrom('workspace_messages')
          .select('content_key_id')
          .distinct()
          .where('conversation_id', 'in', expiredIds)
          .where('content_key_id', 'is not', null)
          .execute();
        const m = await tx
          .deleteFrom('workspace_messages')
          .where('conversation_id', 'in', expiredIds)
          .executeTakeFirst();
        const c = await tx.deleteFrom('workspace_conversations').where('id', 'in', expiredIds).executeTakeFirst();
        keys += await destroyContentKeys(tx, orgId, [
          ...new Set([...expired.map((r) => r.content_key_id), ...msgKeys.map((r) => r.content_key_id)]),
        ]);
        messages += Number(m.numDeletedRows);
        conversations += Number(c.numDeletedRows);
      });
    }
    for (;;) {
      let q = ctx.db
        .selectFrom('workspace_files')
        .select('id')
        .where('org_id', '=', orgId)
        .where('created_at', '<', cutoff);
      if (held.length) q = q.where('user_id', 'not in', held);
      const rows = await q.select('content_key_id').orderBy('id').limit(batchSize).execute();
      if (rows.length === 0) break;
      await ctx.db.transaction().execute(async (tx) => {
        const f = await tx
          .deleteFrom('workspace_files')
          .where(
            'id',
            'in',
            rows.map((r) => r.id),
          )
          .executeTakeFirst();
        keys += await destroyContentKeys(
          tx,
          orgId,
          rows.map((r) => r.content_key_id),
        );
        files += Number(f.numDeletedRows);
      });
    }
    if (conversations + messages + files > 0) {
      totals.organizations += 1;
      totals.conversations += conversations;
      totals.messages += messages;
      totals.files += files;
      totals.keysDestroyed += keys;
      await ctx.db.transaction().execute((tx) =>
        recordAudit(tx, ctx, {
          orgId,
          action: 'retention.purged',
          metadata: {
            retentionDays: policy.retentionDays,
            cutoff,
            conversations,
            messages,
            files,
            keysDestroyed: keys,
            usersOnHold: held.length,
          },
        }),
      );
    }
  }
  // Old WAL frames still hold the pages as they were before the purge: fold them in and truncate.
  if (totals.conversations + totals.files > 0) await flushErasedPages(ctx.db);
  return totals;
}
