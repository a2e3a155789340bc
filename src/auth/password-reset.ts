import { setTimeout as sleep } from 'node:timers/promises';
import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { emailNotConfigured, enqueueEmail } from '../email/outbox.js';
import { passwordResetEmail, passwordResetUnavailableEmail } from '../email/templates.js';
import { emailConfigured } from '../email/transport.js';
import { clientNetworkKey, consumeRateLimit, takeSlot } from '../http/rate-limit.js';
import { ssoRequirementsFor } from './sso-policy.js';
import { normalizeEmail } from '../users/email.js';
import { findUserByEmail } from '../users/store.js';
import { auditOrgsOfUser } from './audit-orgs.js';
import { createLinkToken } from './link-tokens.js';

export const PasswordResetRequestInput = Type.Object(
  { email: Type.String({ maxLength: 254 }) },
  { additionalProperties: false },
);
export type PasswordResetRequestInput = Static<typeof PasswordResetRequestInput>;

export const PasswordResetAccepted = Type.Object({ message: Type.String() });

/** Every answer takes at least this long, so a known address cannot be told from an unknown one by timing. */
const ANSWER_FLOOR_MS = 300;
const HOUR = 3600;

export const RESET_ANSWER =
  'If an account exists for that address, a link to choose a new password is on its way. It works once and expires; check your inbox and spam folder.';

/** The organization a person's installation-level link is recorded under: their first organization. */
export async function homeOrgOf(db: Queryable, userId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
    .select('memberships.org_id')
    .where('memberships.user_id', '=', userId)
    .where('organizations.status', '=', 'active')
    .orderBy('memberships.status') // active before invited and suspended
    .orderBy('memberships.org_id')
    .executeTakeFirst();
  return row?.org_id;
}

/**
 * "Forgot password": mails a one-time reset link to the address, if an account exists there. The
 * answer is the same, and takes the same time, for known and unknown addresses; requests are
 * limited per client network (429) and reset mails per address (further requests send nothing).
 * Anyone who controls the mailbox may reset, including for an account an organization manages
 * (its mailbox is that organization's); a person whose organizations all require SSO is told so
 * instead of getting a password they could not use.
 */
export async function requestPasswordReset(ctx: Ctx, input: PasswordResetRequestInput): Promise<{ message: string }> {
  const started = Date.now();
  try {
    if (!emailConfigured(ctx.config)) throw emailNotConfigured('Resetting a password');
    await consumeRateLimit(
      ctx,
      {
        bucket: 'password_reset_ip',
        key: clientNetworkKey(ctx.meta.ip),
        limit: ctx.config.passwordResetMaxPerIp,
        windowSeconds: HOUR,
      },
      { code: 'too_many_password_resets', message: 'Too many password reset requests from your network address.' },
    );
    let email: string | undefined;
    try {
      email = normalizeEmail(input.email);
    } catch {
      email = undefined;
    }
    const user = email ? await findUserByEmail(ctx.db, email) : undefined;
    const orgId = user && user.status === 'active' ? await homeOrgOf(ctx.db, user.id) : undefined;
    if (
      user &&
      orgId &&
      (
        await takeSlot(ctx, {
          bucket: 'password_reset_address',
          key: user.email,
          limit: ctx.config.passwordResetMaxPerAddress,
          windowSeconds: HOUR,
        })
      ).ok
    ) {
      const required = await ssoRequirementsFor(ctx.db, user.id);
      const memberships = await ctx.db
        .selectFrom('memberships')
        .select(['org_id', 'role'])
        .where('user_id', '=', user.id)
        .where('status', '=', 'active')
        .execute();
      const ssoOnly =
        memberships.length > 0 &&
        memberships.every((m) => required.some((r) => r.orgId === m.org_id && r.role !== 'primary_owner'));
      await ctx.db.transaction().execute(async (tx) => {
        const now = ctx.clock.now();
        if (ssoOnly) {
          const first = required[0];
          await enqueueEmail(tx, ctx.config, now, {
            orgId,
            template: 'password_reset_sso_only',
            to: user.email,
            content: passwordResetUnavailableEmail({
              reason: `Your organization signs you in with single sign-on, so your account needs no password. Sign in at ${ctx.config.publicUrl}/sso/${first?.connectionId ?? ''}/start.`,
            }),
          });
        } else {
          const link = await createLinkToken(tx, ctx, {
            purpose: 'reset',
            userId: user.id,
            orgId,
            membershipId: null,
            delivery: 'email',
          });
          await enqueueEmail(tx, ctx.config, now, {
            orgId,
            template: 'password_reset',
            to: user.email,
            content: passwordResetEmail({ url: link.url, expiresAt: link.expiresAt }),
          });
        }
        for (const o of await auditOrgsOfUser(tx, user.id)) {
          await recordAudit(tx, ctx, {
            orgId: o,
            action: 'auth.password_reset_requested',
            actor: { type: 'anonymous', id: null, email: user.email, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent },
            targets: [{ type: 'user', id: user.id, name: user.email }],
            metadata: { delivery: 'email', ssoOnly },
          });
        }
      });
    }
    return { message: RESET_ANSWER };
  } finally {
    const left = ANSWER_FLOOR_MS - (Date.now() - started);
    if (left > 0) await sleep(left);
  }
}
