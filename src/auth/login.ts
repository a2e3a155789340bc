import { Type, type Static } from '@sinclair/typebox';
import { SYSTEM_CHAIN } from '../audit/event.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { autoJoinCapturingOrg } from '../domains/capture.js';
import { PalisadeError } from '../errors.js';
import { assertPasswordLoginAllowed, passwordlessAccountError } from './sso-policy.js';
import { normalizeEmail } from '../users/email.js';
import { type PublicUser, findUserByEmail, publicUser } from '../users/store.js';
import { auditOrgsOfUser } from './audit-orgs.js';
import { burnPasswordCheck, verifyPassword } from './passwords.js';
import { type NewSession, createSession, revokeSession } from './sessions.js';
import { reserveLoginAttempt } from './throttle.js';

export const LoginInput = Type.Object(
  { email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }) },
  { additionalProperties: false },
);
export type LoginInput = Static<typeof LoginInput>;

const badCredentials = () =>
  new PalisadeError(
    401,
    'invalid_credentials',
    'The email or password is not correct. Check both; if you have not set a password yet, use the link from your invitation, or "Forgot password" to get a new one by email.',
  );

/**
 * Local (break-glass) sign-in. Every outcome is audited. A slot of the per-account and per-network
 * throttle is reserved before the password is checked (src/auth/throttle.ts), so simultaneous
 * guesses cannot outrun it; an unknown email costs the same time as a wrong password.
 */
export async function login(ctx: Ctx, input: LoginInput): Promise<{ session: NewSession; user: PublicUser }> {
  let email: string;
  try {
    email = normalizeEmail(input.email);
  } catch {
    throw badCredentials();
  }
  const attempt = await reserveLoginAttempt(ctx.db, ctx.clock, ctx.config, email, ctx.meta.ip);
  const user = await findUserByEmail(ctx.db, email);
  const ok = user?.password_hash
    ? await verifyPassword(input.password, user.password_hash)
    : (await burnPasswordCheck(input.password, ctx.config.passwordScryptLogN), false);
  const usable = ok && user?.status === 'active';
  if (!usable || !user) {
    const reason = !user
      ? 'unknown_email'
      : !user.password_hash
        ? 'no_password_set'
        : !ok
          ? 'wrong_password'
          : 'user_suspended';
    await ctx.db.transaction().execute(async (tx) => {
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
    if (user?.status === 'suspended' && ok)
      throw new PalisadeError(
        403,
        'account_suspended',
        'This account is suspended. Contact an administrator of your organization.',
      );
    // An SSO-only account (no password) is told where it signs in, not that its password is wrong:
    // a lapsed domain must not leave SSO people at a password form they can never pass.
    if (reason === 'no_password_set' && user) {
      const sso = await passwordlessAccountError(ctx, user);
      if (sso) throw sso;
    }
    throw badCredentials();
  }
  // Organizations that enforce SSO send their people to the IdP (primary owners to break-glass).
  await assertPasswordLoginAllowed(ctx, user);
  return ctx.db.transaction().execute(async (tx) => {
    await attempt.succeeded(tx);
    // Auto-join at a domain an organization verified grants a role: only for a proven address
    // (otherwise whoever set this password before the domain was verified would join).
    if (user.email_verified_at) await autoJoinCapturingOrg(tx, ctx, user);
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
      await recordAudit(tx, ctx, {
        orgId,
        action: 'auth.logged_out',
        targets: [{ type: 'session', id: credentialId }],
      });
    }
  });
}
