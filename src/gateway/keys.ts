import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { requireUser } from '../auth/require-user.js';
import { displayPrefix, generateSecret, hashSecret, secretKind } from '../auth/secrets.js';
import type { Ctx } from '../context.js';
import type { Queryable, User } from '../db/schema.js';
import { badRequest, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { authorizeWorkspace } from '../policy/network.js';
import { roleAllows } from '../orgs/permissions.js';
import { unlessStorageFault } from '../db/faults.js';

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

/** A live gateway key with its active user and organization, or undefined (unknown, revoked, suspended look alike). */
export async function resolveGatewayKey(
  db: Queryable,
  now: Date,
  secret: string,
): Promise<{ keyId: string; orgId: string; user: User } | undefined> {
  if (secretKind(secret) !== 'gwk') return undefined;
  const row = await db
    .selectFrom('gateway_keys')
    .innerJoin('users', 'users.id', 'gateway_keys.user_id')
    .selectAll('users')
    .select([
      'gateway_keys.id as key_id',
      'gateway_keys.org_id',
      'gateway_keys.revoked_at',
      'gateway_keys.last_used_at',
    ])
    .where('gateway_keys.token_hash', '=', hashSecret(secret))
    .executeTakeFirst();
  if (!row || row.revoked_at !== null || row.status !== 'active') return undefined;
  // last_used_at at minute granularity: no write per request.
  const at = now.toISOString();
  if (!row.last_used_at || row.last_used_at.slice(0, 16) !== at.slice(0, 16))
    await db
      .updateTable('gateway_keys')
      .set({ last_used_at: at })
      .where('id', '=', row.key_id)
      .execute()
      .catch(unlessStorageFault);
  const { key_id, org_id, revoked_at: _r, last_used_at: _l, ...user } = row;
  return { keyId: key_id, orgId: org_id, user };
}
