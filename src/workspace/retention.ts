import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { destroyContentKeys, flushErasedPages } from '../crypto/content-keys.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { JobDefinition } from '../jobs/scheduler.js';
import { authorize } from '../orgs/authorize.js';
import { allowlistMatcher, orgAllowlist, parseCidr } from './network.js';
import { activeHolds, effectivePolicy } from './policy.js';

// Nullable fields use a JSON-schema type list, not a union: with coerceTypes an anyOf would coerce null → 0 (zero retention!) or 0 → null.
export const SettingsInput = Type.Object(
  {
    retentionDays: Type.Optional(
      Type.Unsafe<number | null>({
        type: ['integer', 'null'],
        minimum: 0,
        maximum: 36500,
        description: '0 keeps nothing; N days counted from the last message; null inherits the parent organization.',
      }),
    ),
    noTraining: Type.Optional(Type.Boolean()),
    confirm: Type.Optional(
      Type.Boolean({ description: 'Required when a shorter period would delete existing content.' }),
    ),
    ipAllowlist: Type.Optional(
      Type.Unsafe<string[] | null>({
        type: ['array', 'null'],
        items: { type: 'string', maxLength: 64 },
        maxItems: 200,
        description: 'IPv4/IPv6 CIDRs allowed to use the workspace and gateway; null or [] allows any address.',
      }),
    ),
    confirmExcludesMe: Type.Optional(
      Type.Boolean({ description: 'Required to save an allowlist that excludes your current address.' }),
    ),
  },
  { additionalProperties: false },
);
export type SettingsInput = Static<typeof SettingsInput>;

export const SettingsView = Type.Object({
  retentionDays: Type.Integer(),
  retentionSource: Type.Object({ kind: Type.String(), orgId: Type.Union([Type.String(), Type.Null()]) }),
  ownRetentionDays: Type.Union([Type.Integer(), Type.Null()]),
  noTraining: Type.Boolean(),
  legalHold: Type.Boolean(),
  ipAllowlist: Type.Union([Type.Array(Type.String()), Type.Null()]),
});
export type SettingsView = Static<typeof SettingsView>;

export const PurgePreview = Type.Object({
  retentionDays: Type.Integer(),
  conversations: Type.Integer(),
  messages: Type.Integer(),
  files: Type.Integer(),
  heldByLegalHold: Type.Boolean(),
});
export type PurgePreview = Static<typeof PurgePreview>;

const DAY = 86_400_000;

async function settingsView(ctx: Ctx, orgId: string): Promise<SettingsView> {
  const p = await effectivePolicy(ctx.db, ctx.config, orgId);
  const own = await ctx.db
    .selectFrom('workspace_settings')
    .select('retention_days')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  const holds = await activeHolds(ctx.db, orgId);
  return {
    retentionDays: p.retentionDays,
    retentionSource: p.retentionSource,
    ownRetentionDays: own?.retention_days == null ? null : Number(own.retention_days),
    noTraining: p.noTraining,
    legalHold: holds.orgHeld,
    ipAllowlist: await orgAllowlist(ctx.db, orgId),
  };
}

export async function getWorkspaceSettings(ctx: Ctx, orgId: string): Promise<SettingsView> {
  await authorize(ctx, orgId, 'org.read');
  return settingsView(ctx, orgId);
}

/** What a period would delete now (content older than it, outside legal holds). */
async function countExpired(db: Queryable, orgId: string, days: number, now: Date): Promise<PurgePreview> {
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

export async function updateWorkspaceSettings(ctx: Ctx, orgId: string, input: SettingsInput): Promise<SettingsView> {
  await authorize(ctx, orgId, 'org.update');
  const before = await effectivePolicy(ctx.db, ctx.config, orgId);
  let allowlist: string[] | null | undefined;
  if (input.ipAllowlist !== undefined) {
    allowlist =
      input.ipAllowlist === null || input.ipAllowlist.length === 0
        ? null
        : input.ipAllowlist.map((c) => parseCidr(c).cidr);
    const ip = ctx.meta.ip;
    // An admin does not lock themselves out by accident: saving a list without their address needs confirmation.
    if (allowlist && ctx.caller.kind === 'user' && ip && !allowlistMatcher(allowlist)(ip) && !input.confirmExcludesMe) {
      throw new PalisadeError(
        409,
        'allowlist_excludes_you',
        `This allowlist does not include your current address ${ip}: after saving, you could no longer use the workspace or gateway from here. Add it, or send "confirmExcludesMe": true. Settings stay reachable to admins from any address.`,
        {
          details: { yourIp: ip },
        },
      );
    }
  }
  if (input.retentionDays !== undefined) {
    // Shortening says, before saving, how much content the next purge will delete.
    let nextDays = input.retentionDays;
    if (nextDays === null) {
      const parentId = (
        await ctx.db.selectFrom('organizations').select('parent_id').where('id', '=', orgId).executeTakeFirst()
      )?.parent_id;
      nextDays = parentId
        ? (await effectivePolicy(ctx.db, ctx.config, parentId)).retentionDays
        : ctx.config.defaultRetentionDays;
    }
    if (nextDays < before.retentionDays && !input.confirm) {
      const preview = await countExpired(ctx.db, orgId, nextDays, ctx.clock.now());
      if (preview.conversations + preview.files > 0) {
        throw new PalisadeError(
          409,
          'retention_change_needs_confirmation',
          `Shortening retention from ${before.retentionDays} to ${nextDays} days will delete ${preview.conversations} conversation(s) (${preview.messages} message(s)) and ${preview.files} file(s) at the next purge. Send the same request with "confirm": true to proceed.`,
          {
            details: { ...preview },
          },
        );
      }
    }
  }
  await ctx.db.transaction().execute(async (tx) => {
    const at = ctx.clock.now().toISOString();
    const existing = await tx
      .selectFrom('workspace_settings')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    const row = {
      org_id: orgId,
      retention_days: input.retentionDays !== undefined ? input.retentionDays : (existing?.retention_days ?? null),
      no_training: input.noTraining !== undefined ? (input.noTraining ? 1 : 0) : (existing?.no_training ?? 1),
      ip_allowlist:
        allowlist !== undefined ? (allowlist ? JSON.stringify(allowlist) : null) : (existing?.ip_allowlist ?? null),
      updated_at: at,
    };
    if (existing) await tx.updateTable('workspace_settings').set(row).where('org_id', '=', orgId).execute();
    else await tx.insertInto('workspace_settings').values(row).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'workspace.settings_updated',
      metadata: {
        retentionDays: { from: existing?.retention_days ?? null, to: row.retention_days },
        noTraining: { from: before.noTraining, to: Number(row.no_training) === 1 },
        ...(allowlist !== undefined
          ? {
              ipAllowlist: {
                from: existing?.ip_allowlist ? (JSON.parse(existing.ip_allowlist) as string[]) : null,
                to: allowlist,
              },
            }
          : {}),
        confirmed: input.confirm === true,
      },
    });
  });
  return settingsView(ctx, orgId);
}

// ---- legal holds ----

export const HoldInput = Type.Object(
  {
    userId: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 64 })),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export const HoldView = Type.Object({
  id: Type.String(),
  userId: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  placedAt: Type.String(),
  liftedAt: Type.Union([Type.String(), Type.Null()]),
});
export type HoldView = Static<typeof HoldView>;
type HoldRow = { id: string; user_id: string | null; reason: string; placed_at: string; lifted_at: string | null };
const holdView = (r: HoldRow): HoldView => ({
  id: r.id,
  userId: r.user_id,
  reason: r.reason,
  placedAt: r.placed_at,
  liftedAt: r.lifted_at,
});

export async function placeHold(ctx: Ctx, orgId: string, input: Static<typeof HoldInput>): Promise<HoldView> {
  await authorize(ctx, orgId, 'org.update');
  const userId = input.userId ?? null;
  if (userId) {
    const m = await ctx.db
      .selectFrom('memberships')
      .select('id')
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!m) throw notFound('member');
  }
  const now = ctx.clock.now();
  const row = {
    id: newId('hld', now),
    org_id: orgId,
    user_id: userId,
    reason: input.reason,
    placed_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null,
    placed_at: now.toISOString(),
    lifted_by: null,
    lifted_at: null,
  };
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('legal_holds').values(row).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'legal_hold.placed',
      targets: [{ type: 'legal_hold', id: row.id }, ...(userId ? [{ type: 'user', id: userId }] : [])],
      metadata: { scope: userId ? 'user' : 'organization', reason: input.reason },
    });
  });
  return holdView(row);
}

export async function listHolds(ctx: Ctx, orgId: string): Promise<{ data: HoldView[] }> {
  await authorize(ctx, orgId, 'org.update');
  const rows = await ctx.db.selectFrom('legal_holds').selectAll().where('org_id', '=', orgId).orderBy('id').execute();
  return { data: rows.map(holdView) };
}

export async function liftHold(ctx: Ctx, orgId: string, holdId: string): Promise<HoldView> {
  await authorize(ctx, orgId, 'org.update');
  return ctx.db.transaction().execute(async (tx) => {
    const r = await tx
      .selectFrom('legal_holds')
      .selectAll()
      .where('id', '=', holdId)
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (!r) throw notFound('legal hold');
    if (r.lifted_at) return holdView(r);
    const at = ctx.clock.now().toISOString();
    await tx
      .updateTable('legal_holds')
      .set({ lifted_at: at, lifted_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null })
      .where('id', '=', holdId)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'legal_hold.lifted',
      targets: [{ type: 'legal_hold', id: holdId }, ...(r.user_id ? [{ type: 'user', id: r.user_id }] : [])],
      metadata: { scope: r.user_id ? 'user' : 'organization' },
    });
    return holdView({ ...r, lifted_at: at });
  });
}

// ---- purge ----

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

export function retentionPurgeJob(): JobDefinition {
  return { name: 'workspace.retention_purge', intervalMs: 60 * 60_000, run: (ctx) => purgeExpiredContent(ctx) };
}
