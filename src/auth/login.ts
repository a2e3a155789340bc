import { Type, type Static } from '@sinclair/typebox';
import { SYSTEM_CHAIN } from '../audit/event.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { autoJoinCapturingOrg } from '../domains/capture.js';
import { PalisadeError } from '../errors.js';
import { assertLinkAllowed, assertPasswordLoginAllowed } from '../sso/enforcement.js';
import { normalizeEmail } from '../users/email.js';
import { type PublicUser, findUserByEmail, publicUser } from '../users/store.js';
import { auditOrgsOfUser } from './audit-orgs.js';
import { consumeLinkToken } from './link-tokens.js';
import { burnPasswordCheck, checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import { type NewSession, createSession, revokeSession } from './sessions.js';
import { assertLoginAllowed, clearAccountFailures, recordLoginFailure } from './throttle.js';

export const LoginInput = Type.Object(
  { email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }) },
  { additionalProperties: false },
);
export type LoginInput = Static<typeof LoginInput>;

export const SetPasswordInput = Type.Object(
  { token: Type.String({ maxLength: 200 }), password: Type.String({ maxLength: 1024 }) },
  { additionalProperties: false },
);
export type SetPasswordInput = Static<typeof SetPasswordInput>;

const badCredentials = () => new PalisadeError(401, 'invalid_credentials', 'The email or password is not correct. Check both, or use the link from your invitation if you have not set a password yet.');

/**
 * Local (break-glass) sign-in. Every outcome is audited; failures are throttled per account and per
 * network address, and an unknown email costs the same time as a wrong password.
 */
export async function login(ctx: Ctx, input: LoginInput): Promise<{ session: NewSession; user: PublicUser }> {
  let email: string;
  try {
    email = normalizeEmail(input.email);
  } catch {
    throw badCredentials();
  }
  await assertLoginAllowed(ctx.db, ctx.clock, ctx.config, email, ctx.meta.ip);
  const user = await findUserByEmail(ctx.db, email);
  const ok = user?.password_hash ? await verifyPassword(input.password, user.password_hash) : (await burnPasswordCheck(input.password, ctx.config.passwordScryptLogN), false);
  const usable = ok && user?.status === 'active';
  if (!usable || !user) {
    const reason = !user ? 'unknown_email' : !user.password_hash ? 'no_password_set' : !ok ? 'wrong_password' : 'user_suspended';
    await ctx.db.transaction().execute(async (tx) => {
      await recordLoginFailure(tx, ctx.clock, ctx.config, email, ctx.meta.ip);
      const orgs = user ? await auditOrgsOfUser(tx, user.id) : [SYSTEM_CHAIN];
      for (const orgId of orgs) {
        await recordAudit(tx, ctx, {
          orgId,
          action: 'auth.login_failed',
          outcome: 'failure',
          actor: { type: 'anonymous', id: user?.id ?? null, email, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent },
          metadata: { method: 'password', reason },
        });
      }
    });
    if (user?.status === 'suspended' && ok) throw new PalisadeError(403, 'account_suspended', 'This account is suspended. Contact an administrator of your organization.');
    throw badCredentials();
  }
  // Organizations that enforce SSO send their people to the IdP (primary owners to break-glass).
  await assertPasswordLoginAllowed(ctx, user);
  return ctx.db.transaction().execute(async (tx) => {
    await clearAccountFailures(tx, email);
    // People at a domain their organization verified with auto-join on become members as they sign in.
    await autoJoinCapturingOrg(tx, ctx, user);
    const session = await createSession(tx, ctx, user.id, 'password');
    for (const orgId of await auditOrgsOfUser(tx, user.id)) {
      await recordAudit(tx, ctx, {
        orgId,
        action: 'auth.login_succeeded',
        actor: { type: 'user', id: user.id, email: user.email, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent },
        targets: [{ type: 'session', id: session.sessionId }],
        metadata: { method: 'password' },
      });
    }
    return { session, user: publicUser(user) };
  });
}

export async function logout(ctx: Ctx): Promise<void> {
  if (ctx.caller.kind !== 'user' || ctx.caller.via !== 'session') return;
  const { userId, credentialId } = ctx.caller;
  await ctx.db.transaction().execute(async (tx) => {
    await revokeSession(tx, ctx.clock.now(), credentialId);
    for (const orgId of await auditOrgsOfUser(tx, userId)) {
      await recordAudit(tx, ctx, { orgId, action: 'auth.logout', targets: [{ type: 'session', id: credentialId }] });
    }
  });
}

/**
 * Redeems a one-time setup or invitation link: sets the password, activates the membership and
 * signs the person in.
 */
export async function setPasswordWithLink(ctx: Ctx, input: SetPasswordInput): Promise<{ session: NewSession; user: PublicUser }> {
  checkPasswordPolicy(input.password);
  await assertLinkAllowed(ctx, input.token);
  const hash = await hashPassword(input.password, ctx.config.passwordScryptLogN);
  return ctx.db.transaction().execute(async (tx) => {
    const now = ctx.clock.now();
    const link = await consumeLinkToken(tx, now, input.token);
    const user = await tx.selectFrom('users').selectAll().where('id', '=', link.user_id).executeTakeFirstOrThrow();
    if (user.status !== 'active') throw new PalisadeError(403, 'account_suspended', 'This account is suspended. Contact an administrator of your organization.');
    const at = now.toISOString();
    const actor = { type: 'user' as const, id: user.id, email: user.email, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent };
    await tx.updateTable('users').set({ password_hash: hash, updated_at: at }).where('id', '=', user.id).execute();
    if (link.membership_id) {
      const activated = await tx.updateTable('memberships').set({ status: 'active', updated_at: at }).where('id', '=', link.membership_id).where('status', '=', 'invited').executeTakeFirst();
      if (Number(activated.numUpdatedRows) === 1) {
        await recordAudit(tx, ctx, { orgId: link.org_id, action: 'member.joined', actor, targets: [{ type: 'membership', id: link.membership_id }], metadata: { via: link.purpose } });
      }
    }
    await recordAudit(tx, ctx, { orgId: link.org_id, action: 'auth.password_set', actor, targets: [{ type: 'user', id: user.id, name: user.email }], metadata: { via: link.purpose } });
    const session = await createSession(tx, ctx, user.id, 'link');
    await recordAudit(tx, ctx, { orgId: link.org_id, action: 'auth.login_succeeded', actor, targets: [{ type: 'session', id: session.sessionId }], metadata: { method: `${link.purpose}_link` } });
    return { session, user: publicUser({ ...user, password_hash: hash }) };
  });
}

