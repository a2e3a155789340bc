import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { authorize } from '../orgs/authorize.js';
import { openTotpSecret } from './totp-secret.js';

/**
 * Break-glass is how a primary owner signs in when SSO is enforced and broken: their password and a
 * confirmed authenticator app (POST /api/v1/auth/break-glass). Enforcing SSO needs at least one
 * primary owner for whom it works; the admins who decide to enforce see who that is, and who still
 * has to enroll. Only the status is shown, never anything of the secret.
 */
export const BreakGlassStatus = Type.Union(
  [
    Type.Literal('ready'),
    Type.Literal('no_authenticator'),
    Type.Literal('no_password'),
    Type.Literal('authenticator_unreadable'),
    Type.Literal('account_suspended'),
  ],
  {
    description:
      'ready: password and a confirmed authenticator app that opens. no_authenticator: no confirmed app (enroll at POST /api/v1/me/totp). no_password: the account has no password (it signs in only through SSO). authenticator_unreadable: the stored secret no longer opens (its master key is gone or it was modified): enroll again. account_suspended: the account cannot sign in at all.',
  },
);
export type BreakGlassStatus = Static<typeof BreakGlassStatus>;

export const BreakGlassOwnerView = Type.Object({
  userId: Type.String(),
  membershipId: Type.String(),
  email: Type.String(),
  status: BreakGlassStatus,
  ready: Type.Boolean({ description: 'Break-glass works for this primary owner (status "ready").' }),
});
export type BreakGlassOwnerView = Static<typeof BreakGlassOwnerView>;

export const BreakGlassOwnersView = Type.Object(
  {
    owners: Type.Array(BreakGlassOwnerView, { description: 'Every active primary owner of the organization.' }),
    anyReady: Type.Boolean({
      description: 'At least one primary owner has working break-glass (SSO can be enforced).',
    }),
  },
  { $id: 'SsoBreakGlassOwnersView' },
);
export type BreakGlassOwnersView = Static<typeof BreakGlassOwnersView>;

/** Each active primary owner's break-glass status; "working" means the sealed secret still opens. */
export async function breakGlassOwners(
  db: Queryable,
  ctx: Pick<Ctx, 'config'>,
  orgId: string,
): Promise<BreakGlassOwnerView[]> {
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .leftJoin('user_totp', (j) =>
      j.onRef('user_totp.user_id', '=', 'memberships.user_id').on('user_totp.confirmed_at', 'is not', null),
    )
    .select([
      'memberships.id as membership_id',
      'users.id as user_id',
      'users.email',
      'users.status as user_status',
      'users.password_hash',
      'user_totp.secret_ct',
      'user_totp.kek_id',
    ])
    .where('memberships.org_id', '=', orgId)
    .where('memberships.role', '=', 'primary_owner')
    .where('memberships.status', '=', 'active')
    .orderBy('users.email')
    .execute();
  const out: BreakGlassOwnerView[] = [];
  for (const r of rows) {
    let status: BreakGlassStatus;
    if (r.user_status !== 'active') status = 'account_suspended';
    else if (r.password_hash === null) status = 'no_password';
    else if (r.secret_ct === null) status = 'no_authenticator';
    else
      status =
        (await openTotpSecret(ctx.config, { user_id: r.user_id, secret_ct: r.secret_ct, kek_id: r.kek_id })) === null
          ? 'authenticator_unreadable'
          : 'ready';
    out.push({ userId: r.user_id, membershipId: r.membership_id, email: r.email, status, ready: status === 'ready' });
  }
  return out;
}

/** GET …/sso/break-glass: the primary owners' break-glass status, for an admin or primary owner of the organization. */
export async function listBreakGlassOwners(ctx: Ctx, orgId: string): Promise<BreakGlassOwnersView> {
  await authorize(ctx, orgId, 'sso.manage');
  const owners = await breakGlassOwners(ctx.db, ctx, orgId);
  return { owners, anyReady: owners.some((o) => o.ready) };
}
