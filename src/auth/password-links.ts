import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { addressAuthority } from '../domains/authority.js';
import { autoJoinCapturingOrg } from '../domains/capture.js';
import { PalisadeError } from '../errors.js';
import { assertLinkAllowed } from './sso-policy.js';
import { type PublicUser, publicUser } from '../users/store.js';
import { auditOrgsOfUser } from './audit-orgs.js';
import { replacePassword } from './credentials.js';
import { checkLink, claimLink } from './link-tokens.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import { type NewSession, createSession } from './sessions.js';

export const SetPasswordInput = Type.Object(
  {
    token: Type.String({ maxLength: 200, description: 'The part after #token= in the link (pls_lnk_…).' }),
    password: Type.String({ maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type SetPasswordInput = Static<typeof SetPasswordInput>;

export const VerifyEmailInput = Type.Object(
  { token: Type.String({ maxLength: 200, description: 'The part after #token= in the verification link.' }) },
  { additionalProperties: false },
);
export type VerifyEmailInput = Static<typeof VerifyEmailInput>;

const suspended = () =>
  new PalisadeError(
    403,
    'account_suspended',
    'This account is suspended. Contact an administrator of your organization.',
  );

const managedElsewhere = (domain: string) =>
  new PalisadeError(
    403,
    'account_managed_elsewhere',
    `Your address is at ${domain}, a domain another organization manages in Palisade, so its password is set through that organization. Sign in with your organization's usual method, then accept this invitation under "Invitations".`,
    { details: { domain } },
  );

/**
 * Redeems a one-time setup, invitation or password-reset link: sets the password, ends every other
 * session, API token, gateway key and credential link of the account, accepts the invitation the
 * link carries, and signs the person in. Whoever holds the link controls the address (it was
 * delivered there), or is the operator or an admin of the organization that manages its domain
 * (src/domains/authority.ts); a link shown to such an admin is void once that stops being true.
 */
export async function setPasswordWithLink(
  ctx: Ctx,
  input: SetPasswordInput,
): Promise<{ session: NewSession; user: PublicUser }> {
  checkPasswordPolicy(input.password);
  const { link, user, refuse } = await checkLink(ctx, input.token, ['setup', 'invite', 'reset']);
  if (user.status !== 'active') throw suspended();
  if (link.purpose !== 'reset') await assertLinkAllowed(ctx, input.token);
  const authority = await addressAuthority(ctx.db, link.org_id, user.email);
  if (link.delivery === 'shown' && link.purpose !== 'setup' && authority.kind !== 'this_company')
    await refuse('domain_no_longer_managed');
  if (link.purpose === 'invite' && authority.kind === 'other_company')
    await refuse('managed_elsewhere', managedElsewhere(authority.domain));
  const hash = await hashPassword(input.password, ctx.config.passwordScryptLogN);
  return ctx.db.transaction().execute(async (tx) => {
    const now = ctx.clock.now();
    await claimLink(tx, now, link.id);
    const current = await tx.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    if (current.password_changed_at !== null && link.created_at < current.password_changed_at)
      throw new PalisadeError(
        400,
        'link_superseded',
        "This link was issued before the account's password was last set, so it no longer works.",
      );
    const at = now.toISOString();
    const actor = {
      type: 'user' as const,
      id: user.id,
      email: user.email,
      ip: ctx.meta.ip,
      userAgent: ctx.meta.userAgent,
    };
    // Opening the invitation delivered to you and choosing a password is accepting it.
    if (link.membership_id && link.purpose !== 'reset') {
      const activated = await tx
        .updateTable('memberships')
        .set({ status: 'active', updated_at: at })
        .where('id', '=', link.membership_id)
        .where('status', '=', 'invited')
        .executeTakeFirst();
      if (Number(activated.numUpdatedRows) === 1) {
        await recordAudit(tx, ctx, {
          orgId: link.org_id,
          action: 'member.joined',
          actor,
          targets: [{ type: 'membership', id: link.membership_id }],
          metadata: { via: link.purpose, linkDelivery: link.delivery },
        });
      }
    }
    const orgIds = [...new Set([link.org_id, ...(await auditOrgsOfUser(tx, user.id)).filter((o) => o !== 'system')])];
    await replacePassword(tx, ctx, current, hash, {
      via: link.purpose as 'setup' | 'invite' | 'reset',
      verified: true,
      orgIds,
    });
    const session = await createSession(tx, ctx, user.id, 'link');
    for (const orgId of orgIds) {
      await recordAudit(tx, ctx, {
        orgId,
        action: 'auth.login_succeeded',
        actor,
        targets: [{ type: 'session', id: session.sessionId }],
        metadata: { method: `${link.purpose}_link` },
      });
    }
    return {
      session,
      user: publicUser({ ...current, password_hash: hash, email_verified_at: current.email_verified_at ?? at }),
    };
  });
}

/**
 * Redeems an email verification link: the address is proven. Auto-join through a verified domain,
 * which waits for a proven address, happens now. Does not sign anyone in.
 */
export async function verifyEmailWithLink(
  ctx: Ctx,
  input: VerifyEmailInput,
): Promise<{ user: PublicUser; joinedOrgId: string | null }> {
  const { link, user } = await checkLink(ctx, input.token, ['verify_email']);
  if (user.status !== 'active') throw suspended();
  return ctx.db.transaction().execute(async (tx) => {
    const now = ctx.clock.now();
    await claimLink(tx, now, link.id);
    const at = now.toISOString();
    const current = await tx.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    if (!current.email_verified_at)
      await tx.updateTable('users').set({ email_verified_at: at, updated_at: at }).where('id', '=', user.id).execute();
    const actor = {
      type: 'user' as const,
      id: user.id,
      email: user.email,
      ip: ctx.meta.ip,
      userAgent: ctx.meta.userAgent,
    };
    for (const orgId of [
      ...new Set([link.org_id, ...(await auditOrgsOfUser(tx, user.id)).filter((o) => o !== 'system')]),
    ]) {
      await recordAudit(tx, ctx, {
        orgId,
        action: 'user.email_verified',
        actor,
        targets: [{ type: 'user', id: user.id, name: user.email }],
        metadata: { via: 'verification_link', alreadyVerified: current.email_verified_at !== null },
      });
    }
    const verified = { ...current, email_verified_at: current.email_verified_at ?? at };
    const joined = await autoJoinCapturingOrg(tx, ctx, verified);
    return { user: publicUser(verified), joinedOrgId: joined ?? null };
  });
}
