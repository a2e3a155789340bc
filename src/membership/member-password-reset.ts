import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { createLinkToken, voidCredentialLinks } from '../auth/link-tokens.js';
import { revokeAllCredentials } from '../auth/sessions.js';
import type { Ctx } from '../context.js';
import { addressAuthority } from '../domains/authority.js';
import { emailNotConfigured, enqueueEmail } from '../email/outbox.js';
import { passwordResetEmail } from '../email/templates.js';
import { emailConfigured } from '../email/transport.js';
import { PalisadeError, notFound } from '../errors.js';
import { authorize, missingPermission } from '../orgs/authorize.js';
import { roleAllows } from '../orgs/permissions.js';

export const MemberPasswordResetInput = Type.Object(
  {
    delivery: Type.Optional(
      Type.Union([Type.Literal('email'), Type.Literal('link')], {
        description:
          "`email` (default): the reset link goes to the member's address. `link`: it is returned to you, to pass on yourself.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type MemberPasswordResetInput = Static<typeof MemberPasswordResetInput>;

export const MemberPasswordResetView = Type.Object({
  resetLink: Type.Union([Type.Object({ url: Type.String(), expiresAt: Type.String() }), Type.Null()]),
  delivery: Type.Union([Type.Literal('email'), Type.Literal('link')]),
  message: Type.String(),
});
export type MemberPasswordResetView = Static<typeof MemberPasswordResetView>;

/**
 * An admin resets a member's password: their password, sessions, API tokens and gateway keys end
 * now, and a one-time link to choose a new password goes to their address (or to the admin). Only
 * the organization that manages the address's domain may do this (src/domains/authority.ts): any
 * other organization's admin would be setting a credential of someone it does not manage.
 */
export async function resetMemberPassword(
  ctx: Ctx,
  orgId: string,
  memberId: string,
  input: MemberPasswordResetInput,
): Promise<MemberPasswordResetView> {
  const { role: myRole } = await authorize(ctx, orgId, 'members.manage');
  const m = await ctx.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['memberships.id', 'memberships.role', 'memberships.user_id', 'users.email', 'users.status as user_status'])
    .where('memberships.org_id', '=', orgId)
    .where('memberships.id', '=', memberId)
    .executeTakeFirst();
  if (!m) throw notFound('member');
  if (m.role === 'primary_owner' && !roleAllows(myRole, 'owners.manage'))
    throw missingPermission('owners.manage', myRole);
  const domain = m.email.slice(m.email.lastIndexOf('@') + 1);
  const authority = await addressAuthority(ctx.db, orgId, m.email);
  if (authority.kind !== 'this_company') {
    throw new PalisadeError(
      403,
      'account_not_managed',
      `${m.email}'s password belongs to them: ${domain} is not a domain this organization verified, so only they can reset it ("Forgot password" on the sign-in page). Verify ${domain} under Domains to manage the accounts there.`,
      { details: { domain } },
    );
  }
  const delivery = input.delivery ?? 'email';
  if (delivery === 'email' && !emailConfigured(ctx.config))
    throw emailNotConfigured(
      `Sending ${m.email} a reset link`,
      ' Or send "delivery": "link" to get the link yourself.',
    );
  return ctx.db.transaction().execute(async (tx) => {
    const now = ctx.clock.now();
    const at = now.toISOString();
    const user = await tx
      .selectFrom('users')
      .select(['password_hash'])
      .where('id', '=', m.user_id)
      .executeTakeFirstOrThrow();
    await tx
      .updateTable('users')
      .set({ password_hash: null, password_changed_at: at, updated_at: at })
      .where('id', '=', m.user_id)
      .execute();
    const revoked = await revokeAllCredentials(tx, now, m.user_id);
    const voided = await voidCredentialLinks(tx, now, m.user_id);
    const link = await createLinkToken(tx, ctx, {
      purpose: 'reset',
      userId: m.user_id,
      orgId,
      membershipId: null,
      delivery: delivery === 'link' ? 'shown' : 'email',
      issuedBy: ctx.caller.kind === 'user' ? ctx.caller.userId : null,
    });
    if (delivery === 'email')
      await enqueueEmail(tx, ctx.config, now, {
        orgId,
        template: 'password_reset',
        to: m.email,
        content: passwordResetEmail({ url: link.url, expiresAt: link.expiresAt }),
      });
    await recordAudit(tx, ctx, {
      orgId,
      action: 'user.credentials_reset',
      targets: [
        { type: 'user', id: m.user_id, name: m.email },
        { type: 'membership', id: m.id },
      ],
      metadata: {
        reason: 'admin_reset',
        delivery,
        passwordCleared: user.password_hash !== null,
        sessionsRevoked: revoked.sessions,
        apiTokensRevoked: revoked.tokens,
        gatewayKeysRevoked: revoked.gatewayKeys,
        linksVoided: voided,
      },
    });
    return {
      resetLink: delivery === 'link' ? { url: link.url, expiresAt: link.expiresAt } : null,
      delivery,
      message: `${m.email}'s password, sessions, API tokens and gateway keys were ended. ${delivery === 'link' ? 'Pass them the one-time link (shown once).' : 'A one-time link to choose a new password went to their address.'}`,
    };
  });
}
