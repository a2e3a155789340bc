import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { emailNotConfigured, enqueueEmail } from '../email/outbox.js';
import { verifyEmailEmail } from '../email/templates.js';
import { emailConfigured } from '../email/transport.js';
import { conflict } from '../errors.js';
import { consumeRateLimit } from '../http/rate-limit.js';
import { findUserById } from '../users/store.js';
import { auditOrgsOfUser } from './audit-orgs.js';
import { createLinkToken } from './link-tokens.js';
import { homeOrgOf } from './password-reset.js';
import { requireUser } from './require-user.js';

/**
 * Sends you a link that proves your address. Accepting invitations and joining your company's
 * organization automatically wait for a proven address.
 */
export async function requestEmailVerification(ctx: Ctx): Promise<{ alreadyVerified: boolean; sentTo: string | null }> {
  const me = requireUser(ctx);
  const user = await findUserById(ctx.db, me.userId);
  if (!user) throw conflict('no_account', 'Sign in again.');
  if (user.email_verified_at) return { alreadyVerified: true, sentTo: null };
  if (!emailConfigured(ctx.config)) throw emailNotConfigured('Verifying your address');
  const orgId = await homeOrgOf(ctx.db, user.id);
  if (!orgId)
    throw conflict(
      'no_organization',
      'Your account belongs to no organization yet; ask an administrator to invite you.',
    );
  await consumeRateLimit(
    ctx,
    { bucket: 'email_verification_address', key: user.email, limit: 5, windowSeconds: 3600 },
    {
      code: 'too_many_verification_emails',
      message: 'Several verification emails were sent to your address recently; use the latest one.',
    },
  );
  await ctx.db.transaction().execute(async (tx) => {
    const link = await createLinkToken(tx, ctx, {
      purpose: 'verify_email',
      userId: user.id,
      orgId,
      membershipId: null,
      delivery: 'email',
    });
    await enqueueEmail(tx, ctx.config, ctx.clock.now(), {
      orgId,
      template: 'verify_email',
      to: user.email,
      content: verifyEmailEmail({ url: link.url, expiresAt: link.expiresAt }),
    });
    for (const o of await auditOrgsOfUser(tx, user.id)) {
      await recordAudit(tx, ctx, {
        orgId: o,
        action: 'user.email_verification_sent',
        targets: [{ type: 'user', id: user.id, name: user.email }],
      });
    }
  });
  return { alreadyVerified: false, sentTo: user.email };
}
