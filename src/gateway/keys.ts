import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { requireUser } from '../auth/require-user.js';
import { displayPrefix, generateSecret, hashSecret, secretKind } from '../auth/secrets.js';
import type { Ctx } from '../context.js';
import type { Db, Queryable } from '../db/schema.js';
import { cachedLookup } from '../cache/hot-cache.js';
import { badRequest, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { authorizeWorkspace } from '../policy/network.js';
import { roleAllows } from '../orgs/permissions.js';
import { flushGatewayWrites, queueKeyUse } from './write-behind.js';

/**
 * Gateway keys (`pls_gwk_…`): a member's credential for model calls through the gateway, bound
 * to one organization and usable nowhere else. Created by the member, listed and revoked by
 * admins, revoked with the member's other credentials when they are deprovisioned.
 */
export const GatewayKeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  userId: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
export type GatewayKeyView = Static<typeof GatewayKeyView>;
export const CreateGatewayKeyInput = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

type Row = {
  id: string;
  name: string;
  display_prefix: string;
  user_id: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
};
const view = (r: Row): GatewayKeyView => ({
  id: r.id,
  name: r.name,
  prefix: r.display_prefix,
  userId: r.user_id,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

export async function createGatewayKey(
  ctx: Ctx,
  orgId: string,
  input: Static<typeof CreateGatewayKeyInput>,
): Promise<{ key: string; gatewayKey: GatewayKeyView }> {
  await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  if (me.via !== 'session' && me.via !== 'api_token')
    throw badRequest('key_cannot_mint_key', 'Create gateway keys while signed in, not with a gateway key.');
  const now = ctx.clock.now();
  const secret = generateSecret('gwk');
  const row = {
    id: newId('gwk', now),
    org_id: orgId,
    user_id: me.userId,
    name: input.name.trim(),
    token_hash: hashSecret(secret),
    display_prefix: displayPrefix(secret),
    created_at: now.toISOString(),
    last_used_at: null,
    revoked_at: null,
  };
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('gateway_keys').values(row).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'gateway_key.created',
      targets: [{ type: 'gateway_key', id: row.id, name: row.name }],
    });
  });
  return { key: secret, gatewayKey: view(row) };
}

/** Admins see every key of the organization; members see their own. */
export async function listGatewayKeys(ctx: Ctx, orgId: string): Promise<{ data: GatewayKeyView[] }> {
  const { role } = await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  // Last-used times this process has queued (src/gateway/write-behind.ts) show in the list.
  await flushGatewayWrites(ctx.db);
  let q = ctx.db.selectFrom('gateway_keys').selectAll().where('org_id', '=', orgId);
  if (!roleAllows(role, 'members.manage')) q = q.where('user_id', '=', me.userId);
  return { data: (await q.orderBy('id').execute()).map(view) };
}

export async function revokeGatewayKey(ctx: Ctx, orgId: string, keyId: string): Promise<GatewayKeyView> {
  const { role } = await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  return ctx.db.transaction().execute(async (tx) => {
    let q = tx.selectFrom('gateway_keys').selectAll().where('id', '=', keyId).where('org_id', '=', orgId);
    if (!roleAllows(role, 'members.manage')) q = q.where('user_id', '=', me.userId);
    const r = await q.executeTakeFirst();
    if (!r) throw notFound('gateway key');
    if (r.revoked_at) return view(r);
    const at = ctx.clock.now().toISOString();
    await tx.updateTable('gateway_keys').set({ revoked_at: at }).where('id', '=', keyId).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'gateway_key.revoked',
      targets: [
        { type: 'gateway_key', id: r.id, name: r.name },
        { type: 'user', id: r.user_id },
      ],
    });
    return view({ ...r, revoked_at: at });
  });
}

/** What a live gateway key stands for: the key, its organization and its (active) user. */
export interface LiveGatewayKey {
  keyId: string;
  orgId: string;
  user: { id: string; email: string };
  /** Last-used time as last written or queued (ISO); updated in place (it is no part of any check). */
  lastUsedAt: string | null;
}

/** A live gateway key with its active user and organization, or undefined (unknown, revoked, suspended look alike). */
export async function resolveGatewayKey(
  db: Db,
  now: Date,
  secret: string,
  /** The request (its metadata object), so its lookups share one invalidation check. */
  scope?: object,
): Promise<LiveGatewayKey | undefined> {
  if (secretKind(secret) !== 'gwk') return undefined;
  const hash = hashSecret(secret);
  // Cached by hash until the key, its user or anything else watched changes (src/cache/); unknown keys are not.
  // About the key's owner: a new user or membership of someone else leaves it cached (migration 0028).
  const found = await cachedLookup(
    db,
    `gateway-key\n${hash}`,
    () => loadLiveKey(db, hash),
    scope,
    (key) => key?.user.id,
  );
  if (!found) return undefined;
  // last_used_at at minute granularity, written after the response (src/gateway/write-behind.ts).
  const at = now.toISOString();
  if (!found.lastUsedAt || found.lastUsedAt.slice(0, 16) !== at.slice(0, 16)) {
    found.lastUsedAt = at;
    queueKeyUse(db, found.keyId, at);
  }
  return found;
}

async function loadLiveKey(db: Queryable, hash: string): Promise<LiveGatewayKey | undefined> {
  const row = await db
    .selectFrom('gateway_keys')
    .innerJoin('users', 'users.id', 'gateway_keys.user_id')
    .select([
      'users.id as user_id',
      'users.email',
      'users.status',
      'gateway_keys.id as key_id',
      'gateway_keys.org_id',
      'gateway_keys.revoked_at',
      'gateway_keys.last_used_at',
    ])
    .where('gateway_keys.token_hash', '=', hash)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null || row.status !== 'active') return undefined;
  return {
    keyId: row.key_id,
    orgId: row.org_id,
    user: { id: row.user_id, email: row.email },
    lastUsedAt: row.last_used_at,
  };
}
