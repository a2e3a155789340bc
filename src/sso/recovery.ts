import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { hashSecret } from '../auth/secrets.js';
import { type NewSession, createSession } from '../auth/sessions.js';
import type { Ctx } from '../context.js';
import type { Queryable, Tx, User } from '../db/schema.js';
import { ssoDomainCapture } from '../domains/capture.js';
import { PalisadeError, conflict, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { authorize } from '../orgs/authorize.js';
import { type PublicUser, publicUser } from '../users/store.js';

/**
 * Recovery for a member locked out of SSO (a mapping mistake took their role, their IdP account is
 * broken) without weakening enforcement for anyone else:
 *
 * - only a primary owner of the organization issues a link, for one named active member of THAT
 *   organization, with a reason; owners themselves have break-glass;
 * - the link sets no credential: it opens one short session (RECOVERY_SESSION_MINUTES) with the
 *   `recovery` method, which SSO enforcement does not end; the account keeps no password;
 * - single use, expires (default 60 minutes, at most 24 hours), a newer link revokes older ones,
 *   and issuing, using and refusing are audited and flagged for review;
 * - an account another organization manages is refused: one that also belongs to another
 *   organization, or whose email domain another organization verified. Accounts are
 *   installation-wide, so a session would otherwise reach beyond this organization, and an owner
 *   here must not be able to open an account someone else manages.
 */
export const RECOVERY_SESSION_MINUTES = 60;
const SECRET = /^pls_rcv_[A-Za-z0-9_-]{43}$/;

export const IssueRecoveryLinkInput = Type.Object(
  {
    memberId: Type.String({ maxLength: 64, description: 'The membership id of the person to let in (GET …/members).' }),
    reason: Type.String({ minLength: 3, maxLength: 500, description: 'Why: kept in the audit log.' }),
    ttlMinutes: Type.Optional(
      Type.Integer({ minimum: 5, maximum: 1440, description: 'How long the link works (default 60).' }),
    ),
  },
  { additionalProperties: false },
);
export type IssueRecoveryLinkInput = Static<typeof IssueRecoveryLinkInput>;

export const RecoveryLinkView = Type.Object({
  id: Type.String(),
  url: Type.String({
    description:
      'Shown once. Give it to the person through a channel you trust; it opens one session and sets no password.',
  }),
  expiresAt: Type.String(),
  sessionMinutes: Type.Integer(),
  member: Type.Object({ id: Type.String(), email: Type.String() }),
});
export type RecoveryLinkView = Static<typeof RecoveryLinkView>;

/** Why the account is not this organization's alone to open, or null. */
async function managedElsewhere(
  db: Queryable,
  orgId: string,
  user: Pick<User, 'id' | 'email'>,
): Promise<string | null> {
  const other = await db
    .selectFrom('memberships')
    .select('id')
    .where('user_id', '=', user.id)
    .where('org_id', '!=', orgId)
    .limit(1)
    .executeTakeFirst();
  if (other)
    return `${user.email} also belongs to another organization, and a session reaches every organization of an account`;
  const capture = await ssoDomainCapture(db, orgId, user.email);
  if (capture && capture.capturedBy !== 'this_organization')
    return `${capture.domain} is verified by another organization, which manages the accounts at that domain`;
  return null;
}

const elsewhereError = (why: string) =>
  conflict(
    'recovery_account_managed_elsewhere',
    `No recovery link can be issued here: ${why}. The person recovers through the organization that manages their account (its primary owner can issue a link there), or an operator helps.`,
  );

export async function issueRecoveryLink(
  ctx: Ctx,
  orgId: string,
  input: IssueRecoveryLinkInput,
): Promise<RecoveryLinkView> {
  await authorize(ctx, orgId, 'sso.recovery');
  const now = ctx.clock.now();
  const expiresAt = new Date(now.getTime() + (input.ttlMinutes ?? 60) * 60_000).toISOString();
  return ctx.db.transaction().execute(async (tx) => {
    const m = await tx
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select([
        'memberships.id',
        'memberships.user_id',
        'memberships.status',
        'users.email',
        'users.status as user_status',
      ])
      .where('memberships.id', '=', input.memberId)
      .where('memberships.org_id', '=', orgId)
      .executeTakeFirst();
    if (!m) throw notFound('member');
    if (ctx.caller.kind === 'user' && ctx.caller.userId === m.user_id)
      throw conflict(
        'recovery_link_for_self',
        'A recovery link is for someone else. Primary owners sign in with break-glass (POST /api/v1/auth/break-glass: password and authenticator code) when SSO fails.',
      );
    if (m.status !== 'active' || m.user_status !== 'active')
      throw conflict(
        'recovery_member_not_active',
        `${m.email} is not an active member (membership ${m.status}, account ${m.user_status}); a recovery link cannot bring back someone suspended or not yet joined. Reactivate them first.`,
      );
    const why = await managedElsewhere(tx, orgId, { id: m.user_id, email: m.email });
    if (why) throw elsewhereError(why);
    const at = now.toISOString();
    const revoked = await tx
      .updateTable('sso_recovery_links')
      .set({ revoked_at: at })
      .where('org_id', '=', orgId)
      .where('user_id', '=', m.user_id)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    const secret = `pls_rcv_${randomBytes(32).toString('base64url')}`;
    const id = newId('rcv', now);
    await tx
      .insertInto('sso_recovery_links')
      .values({
        id,
        org_id: orgId,
        membership_id: m.id,
        user_id: m.user_id,
        token_hash: hashSecret(secret),
        reason: input.reason.trim(),
        issued_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null,
        created_at: at,
        expires_at: expiresAt,
        used_at: null,
        revoked_at: null,
        session_id: null,
      })
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'sso.recovery_link_issued',
      targets: [
        { type: 'user', id: m.user_id, name: m.email },
        { type: 'membership', id: m.id },
        { type: 'recovery_link', id },
      ],
      metadata: {
        reason: input.reason.trim(),
        expiresAt,
        sessionMinutes: RECOVERY_SESSION_MINUTES,
        previousLinksRevoked: Number(revoked.numUpdatedRows),
        flagged: true,
        review: 'A primary owner let a member in without single sign-on. Confirm with both that this was expected.',
      },
    });
    return {
      id,
      url: `${ctx.config.publicUrl}/sso/recover#token=${secret}`,
      expiresAt,
      sessionMinutes: RECOVERY_SESSION_MINUTES,
      member: { id: m.id, email: m.email },
    };
  });
}

export async function revokeRecoveryLink(ctx: Ctx, orgId: string, linkId: string): Promise<void> {
  await authorize(ctx, orgId, 'sso.recovery');
  await ctx.db.transaction().execute(async (tx) => {
    const row = await tx
      .selectFrom('sso_recovery_links')
      .select(['id', 'user_id', 'used_at', 'revoked_at'])
      .where('id', '=', linkId)
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (!row) throw notFound('recovery link');
    if (row.used_at || row.revoked_at) return;
    await tx
      .updateTable('sso_recovery_links')
      .set({ revoked_at: ctx.clock.now().toISOString() })
      .where('id', '=', row.id)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'sso.recovery_link_revoked',
      targets: [
        { type: 'recovery_link', id: row.id },
        { type: 'user', id: row.user_id },
      ],
    });
  });
}

export const RedeemRecoveryInput = Type.Object(
  { token: Type.String({ maxLength: 200 }) },
  { additionalProperties: false },
);
export type RedeemRecoveryInput = Static<typeof RedeemRecoveryInput>;

const invalidLink = () =>
  new PalisadeError(
    400,
    'invalid_or_expired_recovery_link',
    'This recovery link is invalid, has expired, was revoked or was already used. Ask a primary owner of your organization for a new one.',
  );

async function refuseUse(
  tx: Tx,
  ctx: Ctx,
  orgId: string,
  linkId: string,
  userId: string,
  reason: string,
): Promise<void> {
  await recordAudit(tx, ctx, {
    orgId,
    action: 'sso.recovery_link_used',
    outcome: 'denied',
    actor: { type: 'anonymous', id: userId, email: null, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent },
    targets: [{ type: 'recovery_link', id: linkId }],
    metadata: { reason, flagged: true },
  });
}

/** Opens the one session a recovery link allows. Every condition is checked again: the link may be old. */
export async function redeemRecoveryLink(
  ctx: Ctx,
  input: RedeemRecoveryInput,
): Promise<{ session: NewSession; user: PublicUser; orgId: string }> {
  if (!SECRET.test(input.token)) throw invalidLink();
  const now = ctx.clock.now();
  const at = now.toISOString();
  const outcome = await ctx.db.transaction().execute(async (tx) => {
    const link = await tx
      .selectFrom('sso_recovery_links')
      .selectAll()
      .where('token_hash', '=', hashSecret(input.token))
      .executeTakeFirst();
    if (!link) return { error: invalidLink() };
    const state = link.used_at
      ? 'already_used'
      : link.revoked_at
        ? 'revoked'
        : link.expires_at <= at
          ? 'expired'
          : null;
    if (state) {
      await refuseUse(tx, ctx, link.org_id, link.id, link.user_id, state);
      return { error: invalidLink() };
    }
    const m = await tx
      .selectFrom('memberships')
      .select(['status'])
      .where('id', '=', link.membership_id)
      .where('org_id', '=', link.org_id)
      .where('user_id', '=', link.user_id)
      .executeTakeFirst();
    const user = await tx.selectFrom('users').selectAll().where('id', '=', link.user_id).executeTakeFirstOrThrow();
    if (m?.status !== 'active' || user.status !== 'active') {
      await refuseUse(tx, ctx, link.org_id, link.id, link.user_id, 'member_not_active');
      return {
        error: conflict(
          'recovery_member_not_active',
          'Your membership or account is no longer active, so this recovery link no longer works. Ask a primary owner of your organization.',
        ),
      };
    }
    const why = await managedElsewhere(tx, link.org_id, user);
    if (why) {
      await refuseUse(tx, ctx, link.org_id, link.id, link.user_id, 'managed_elsewhere');
      return { error: elsewhereError(why) };
    }
    const claimed = await tx
      .updateTable('sso_recovery_links')
      .set({ used_at: at })
      .where('id', '=', link.id)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) return { error: invalidLink() };
    const created = await createSession(tx, ctx, user.id, 'recovery');
    // Short whatever the session lifetime: enough to fix what locked them out.
    const expiresAt = new Date(
      Math.min(Date.parse(created.expiresAt), now.getTime() + RECOVERY_SESSION_MINUTES * 60_000),
    ).toISOString();
    await tx.updateTable('sessions').set({ expires_at: expiresAt }).where('id', '=', created.sessionId).execute();
    await tx
      .updateTable('sso_recovery_links')
      .set({ session_id: created.sessionId })
      .where('id', '=', link.id)
      .execute();
    await recordAudit(tx, ctx, {
      orgId: link.org_id,
      action: 'sso.recovery_link_used',
      actor: { type: 'user', id: user.id, email: user.email, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent },
      targets: [
        { type: 'recovery_link', id: link.id },
        { type: 'session', id: created.sessionId },
        { type: 'user', id: user.id, name: user.email },
      ],
      metadata: {
        issuedBy: link.issued_by,
        reason: link.reason,
        sessionExpiresAt: expiresAt,
        flagged: true,
        review: 'A member signed in without single sign-on through a recovery link.',
      },
    });
    return { session: { ...created, expiresAt }, user: publicUser(user), orgId: link.org_id };
  });
  // Refusals are audited, so their transaction commits; the error is thrown afterwards.
  if ('error' in outcome) throw outcome.error;
  return outcome;
}
