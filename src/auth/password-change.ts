import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { enqueueEmail } from '../email/outbox.js';
import { passwordChangedEmail } from '../email/templates.js';
import { emailConfigured } from '../email/transport.js';
import { PalisadeError, conflict } from '../errors.js';
import { findUserById } from '../users/store.js';
import { auditOrgsOfUser } from './audit-orgs.js';
import { replacePassword } from './credentials.js';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords.js';
import { requireUser } from './require-user.js';
import { reserveLoginAttempt } from './throttle.js';

export const ChangePasswordInput = Type.Object(
  { currentPassword: Type.String({ maxLength: 1024 }), newPassword: Type.String({ maxLength: 1024 }) },
  { additionalProperties: false },
);
export type ChangePasswordInput = Static<typeof ChangePasswordInput>;

/**
 * Changes your own password, given the current one (checked under the sign-in throttle, so a stolen
 * session cannot be used to guess it). Your other browser sessions end; this one goes on; API tokens
 * and gateway keys stay (you knew the password; revoke them under your account if they leaked).
 * A notice goes to your address when mail is configured.
 */
export async function changePassword(ctx: Ctx, input: ChangePasswordInput): Promise<void> {
  const me = requireUser(ctx);
  if (me.via !== 'session')
    throw new PalisadeError(
      403,
      'session_required',
      'Change your password from a signed-in browser session, not with an API token.',
    );
  const user = await findUserById(ctx.db, me.userId);
  if (!user) throw new PalisadeError(401, 'unauthenticated', 'Sign in first.');
  if (!user.password_hash)
    throw conflict(
      'no_password_set',
      'Your account has no password to change. To set one, use "Forgot password" on the sign-in page: a link is sent to your address.',
    );
  checkPasswordPolicy(input.newPassword);
  const attempt = await reserveLoginAttempt(ctx.db, ctx.clock, ctx.config, user.email, ctx.meta.ip);
  if (!(await verifyPassword(input.currentPassword, user.password_hash))) {
    throw new PalisadeError(
      403,
      'current_password_incorrect',
      'The current password is not correct. Type it again; if you forgot it, sign out and use "Forgot password".',
    );
  }
  const hash = await hashPassword(input.newPassword, ctx.config.passwordScryptLogN);
  await ctx.db.transaction().execute(async (tx) => {
    await attempt.succeeded(tx);
    const orgIds = await auditOrgsOfUser(tx, user.id);
    await replacePassword(tx, ctx, user, hash, {
      via: 'password_change',
      verified: false,
      keepSessionId: me.credentialId,
      orgIds,
    });
    if (emailConfigured(ctx.config)) {
      const now = ctx.clock.now();
      await enqueueEmail(tx, ctx.config, now, {
        orgId: null,
        template: 'password_changed',
        to: user.email,
        content: passwordChangedEmail({ at: now.toISOString(), via: 'with the current password' }),
      });
    }
  });
}
