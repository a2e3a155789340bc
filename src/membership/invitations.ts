import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { requireUser } from '../auth/require-user.js';
import type { Ctx } from '../context.js';
import { PalisadeError, notFound } from '../errors.js';
import { findUserById } from '../users/store.js';
import { RoleSchema } from '../orgs/views.js';

/**
 * Invitations of an existing account wait for its owner (consent): nobody else activates a
 * membership of an account they do not manage. The person sees their pending invitations when
 * signed in and accepts or declines each; accepting needs a proven address, so a session opened
 * by someone who never controlled the mailbox (another tenant's IdP asserting it, say) cannot
 * accept on the person's behalf.
 */
export const InvitationView = Type.Object({
  membershipId: Type.String(),
  orgId: Type.String(),
  orgName: Type.String(),
  role: RoleSchema,
  invitedBy: Type.Union([Type.String(), Type.Null()], {
    description: 'Email of the admin who invited you, when a person did.',
  }),
  invitedAt: Type.String(),
});
export type InvitationView = Static<typeof InvitationView>;

export const InvitationParams = Type.Object({ membershipId: Type.String({ maxLength: 64 }) });
export type InvitationParams = Static<typeof InvitationParams>;

function pending(ctx: Ctx, userId: string) {
  return ctx.db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
    .leftJoin('users as inviter', 'inviter.id', 'memberships.invited_by')
    .select([
      'memberships.id',
      'memberships.org_id',
      'organizations.name as org_name',
      'memberships.role',
      'inviter.email as invited_by',
      'memberships.created_at',
    ])
    .where('memberships.user_id', '=', userId)
    .where('memberships.status', '=', 'invited')
    .where('organizations.status', '=', 'active');
}

const view = (r: {
  id: string;
  org_id: string;
  org_name: string;
  role: InvitationView['role'];
  invited_by: string | null;
  created_at: string;
}): InvitationView => ({
  membershipId: r.id,
  orgId: r.org_id,
  orgName: r.org_name,
  role: r.role,
  invitedBy: r.invited_by,
  invitedAt: r.created_at,
});

export async function listMyInvitations(ctx: Ctx): Promise<{ data: InvitationView[] }> {
  const me = requireUser(ctx);
  const rows = await pending(ctx, me.userId).orderBy('memberships.id').limit(200).execute();
  return { data: rows.map(view) };
}

async function loadInvitation(ctx: Ctx, membershipId: string) {
  const me = requireUser(ctx);
  if (me.via !== 'session')
    throw new PalisadeError(
      403,
      'session_required',
      'Accept or decline invitations from a signed-in browser session, not with an API token.',
    );
  const row = await pending(ctx, me.userId).where('memberships.id', '=', membershipId).executeTakeFirst();
  if (!row) throw notFound('invitation');
  return { me, row };
}

export async function acceptInvitation(ctx: Ctx, membershipId: string): Promise<InvitationView> {
  const { me, row } = await loadInvitation(ctx, membershipId);
  const user = await findUserById(ctx.db, me.userId);
  if (!user?.email_verified_at) {
    throw new PalisadeError(
      403,
      'email_unverified',
      `Confirm that ${me.email} is yours before joining another organization: request a link with POST /api/v1/me/email-verification (or "Send verification email" on the Invitations page), open it, then accept again.`,
    );
  }
  await ctx.db.transaction().execute(async (tx) => {
    const at = ctx.clock.now().toISOString();
    const r = await tx
      .updateTable('memberships')
      .set({ status: 'active', updated_at: at })
      .where('id', '=', row.id)
      .where('status', '=', 'invited')
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw notFound('invitation');
    await recordAudit(tx, ctx, {
      orgId: row.org_id,
      action: 'member.joined',
      targets: [
        { type: 'membership', id: row.id },
        { type: 'user', id: me.userId, name: me.email },
      ],
      metadata: { via: 'invitation_accepted', role: row.role },
    });
  });
  return view(row);
}

export async function declineInvitation(ctx: Ctx, membershipId: string): Promise<void> {
  const { me, row } = await loadInvitation(ctx, membershipId);
  await ctx.db.transaction().execute(async (tx) => {
    const at = ctx.clock.now().toISOString();
    const r = await tx
      .deleteFrom('memberships')
      .where('id', '=', row.id)
      .where('status', '=', 'invited')
      .executeTakeFirst();
    if (Number(r.numDeletedRows) !== 1) throw notFound('invitation');
    await tx
      .updateTable('link_tokens')
      .set({ used_at: at })
      .where('membership_id', '=', row.id)
      .where('used_at', 'is', null)
      .execute();
    await recordAudit(tx, ctx, {
      orgId: row.org_id,
      action: 'member.invitation_declined',
      targets: [
        { type: 'membership', id: row.id },
        { type: 'user', id: me.userId, name: me.email },
      ],
      metadata: { role: row.role },
    });
  });
}
