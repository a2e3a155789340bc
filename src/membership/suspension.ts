import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Membership, Tx } from '../db/schema.js';
import { conflict } from '../errors.js';
import { authorize, missingPermission } from '../orgs/authorize.js';
import { type MemberRow, lastOwner, loadMember, suspensionFacts } from './member-rows.js';
import { INHERITED_ROLES, roleAllows } from '../orgs/permissions.js';
import { activeMembershipsIn, countActiveOwners, lockOrg, orgLineage } from '../orgs/store.js';
import { MemberView, Warning, memberView } from '../orgs/views.js';

/**
 * An admin's suspension of a member: the membership keeps its role and grants nothing in this
 * organization until an admin reactivates it. Nothing installation-wide is touched — the person's
 * sessions, API tokens and other organizations stay as they are — because every request checks the
 * membership's status (src/orgs/authorize.ts), and the gateway's cached verdicts are dropped by the
 * database triggers on memberships (migration 0023). The person's gateway keys of this
 * organization are kept too, refused while the suspension lasts, so reactivation restores them.
 * (SCIM deactivation, src/scim/lifecycle.ts, ends credentials: the identity provider says the person
 * has left the company.)
 */

export const SuspendMemberInput = Type.Object(
  {
    reason: Type.Optional(
      Type.String({ maxLength: 500, description: 'Why, for the audit log (not shown to the member).' }),
    ),
  },
  { additionalProperties: false },
);
export type SuspendMemberInput = Static<typeof SuspendMemberInput>;

export const MemberSuspensionView = Type.Object(
  { member: MemberView, warnings: Type.Array(Warning) },
  { $id: 'MemberSuspensionView' },
);
export type MemberSuspensionView = Static<typeof MemberSuspensionView>;

const targetsOf = (m: MemberRow) => [
  { type: 'user', id: m.user_id, name: m.email },
  { type: 'membership', id: m.id },
];

/** An admin or owner of a parent organization keeps that role here however this membership stands. */
async function inheritedAccessWarning(tx: Tx, orgId: string, m: MemberRow): Promise<Warning[]> {
  const parents = (await orgLineage(tx, orgId)).slice(1);
  const above = (
    await activeMembershipsIn(
      tx,
      m.user_id,
      parents.map((o) => o.id),
    )
  ).filter((p) => INHERITED_ROLES.includes(p.role));
  const first = above[0];
  if (!first) return [];
  const parent = parents.find((o) => o.id === first.org_id);
  return [
    {
      code: 'access_inherited',
      message: `${m.email} is ${first.role} of the parent organization "${parent?.name ?? first.org_id}", which gives them that role here too; this suspension does not take it away. Ask an admin of "${parent?.name ?? first.org_id}" to change their role there.`,
    },
  ];
}

export async function suspendMember(
  ctx: Ctx,
  orgId: string,
  memberId: string,
  input: SuspendMemberInput,
): Promise<MemberSuspensionView> {
  const { role: myRole } = await authorize(ctx, orgId, 'members.manage');
  const me = ctx.caller.kind === 'user' ? ctx.caller.userId : null;
  return ctx.db.transaction().execute(async (tx) => {
    await lockOrg(tx, orgId);
    const m = await loadMember(tx, orgId, memberId);
    if (m.user_id === me)
      throw conflict(
        'cannot_suspend_self',
        'You cannot suspend your own membership: you would lose access at once with nobody having decided it. Ask another admin or primary owner, or leave the organization instead.',
        { memberId: m.id },
      );
    if (m.role === 'primary_owner' && !roleAllows(myRole, 'owners.manage'))
      throw missingPermission('owners.manage', myRole);
    if (m.status === 'invited')
      throw conflict(
        'invitation_not_suspendable',
        `${m.email} has not accepted the invitation yet, so there is no access to suspend. Remove the invitation instead (DELETE the member).`,
        { memberId: m.id },
      );
    if (m.suspended_by_user_id !== null)
      throw conflict(
        'already_suspended',
        `${m.email} is already suspended by ${m.suspender_email ?? 'an admin'} (${m.suspended_at}). Reactivate them first if you meant to change who holds the suspension.`,
        { memberId: m.id, suspendedByUserId: m.suspended_by_user_id },
      );
    if (m.role === 'primary_owner' && m.status === 'active' && (await countActiveOwners(tx, orgId)) <= 1)
      throw lastOwner();
    const at = ctx.clock.now().toISOString();
    // A member SCIM already suspended keeps that suspension and its time; the admin's joins it, so
    // the identity provider's reactivation alone does not let them back in.
    const next: Membership = {
      ...m,
      status: 'suspended',
      suspended_at: m.status === 'suspended' ? m.suspended_at : at,
      suspended_by_user_id: me,
      updated_at: at,
    };
    await tx
      .updateTable('memberships')
      .set({
        status: next.status,
        suspended_at: next.suspended_at,
        suspended_by_user_id: next.suspended_by_user_id,
        updated_at: at,
      })
      .where('id', '=', m.id)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'member.suspended',
      targets: targetsOf(m),
      metadata: {
        membershipId: m.id,
        role: m.role,
        previousStatus: m.status,
        reason: input.reason ?? null,
        alsoSuspendedByDirectoryId: m.suspended_by_directory_id,
      },
    });
    const facts = suspensionFacts(m);
    return {
      member: memberView(next, m, { ...facts, suspenderEmail: ctx.caller.kind === 'user' ? ctx.caller.email : null }),
      warnings: await inheritedAccessWarning(tx, orgId, m),
    };
  });
}

/**
 * Lifts a suspension in the caller's transaction, after the checks every admin reactivation makes
 * (this route and PATCH {"status":"active"}): a live SCIM directory's suspension is the identity
 * provider's to lift (409 suspended_by_scim); an owner's, an owner's.
 */
export async function liftSuspension(
  tx: Tx,
  ctx: Ctx,
  orgId: string,
  myRole: Parameters<typeof roleAllows>[0],
  m: MemberRow,
  role = m.role,
): Promise<Membership> {
  const dir = suspensionFacts(m).directory;
  if (m.role === 'primary_owner' && !roleAllows(myRole, 'owners.manage'))
    throw missingPermission('owners.manage', myRole);
  if (dir)
    throw conflict(
      'suspended_by_scim',
      `${m.email} was deactivated in the identity provider and is suspended by the SCIM directory "${dir.name}" (${dir.id}). Reactivate them there (assign them to the application again, or set them active): Palisade restores their access when the identity provider says so. To take their access away for good, remove the member instead.`,
      { memberId: m.id, directoryId: dir.id, directoryName: dir.name },
    );
  const at = ctx.clock.now().toISOString();
  await tx
    .updateTable('memberships')
    .set({
      role,
      status: 'active',
      suspended_at: null,
      suspended_by_directory_id: null,
      suspended_by_user_id: null,
      updated_at: at,
    })
    .where('id', '=', m.id)
    .execute();
  await recordAudit(tx, ctx, {
    orgId,
    action: 'member.reactivated',
    targets: targetsOf(m),
    metadata: {
      membershipId: m.id,
      role,
      suspendedAt: m.suspended_at,
      suspendedByUserId: m.suspended_by_user_id,
      suspendedByDirectoryId: m.suspended_by_directory_id,
      reason: m.suspended_by_user_id !== null ? 'admin_suspension_lifted' : 'suspending_directory_deleted',
    },
  });
  return {
    ...m,
    role,
    status: 'active',
    suspended_at: null,
    suspended_by_directory_id: null,
    suspended_by_user_id: null,
    updated_at: at,
  };
}

export async function reactivateMember(ctx: Ctx, orgId: string, memberId: string): Promise<MemberSuspensionView> {
  const { role: myRole } = await authorize(ctx, orgId, 'members.manage');
  return ctx.db.transaction().execute(async (tx) => {
    await lockOrg(tx, orgId);
    const m = await loadMember(tx, orgId, memberId);
    if (m.status !== 'suspended')
      throw conflict(
        'member_not_suspended',
        `${m.email} is not suspended (their membership is ${m.status}); there is nothing to reactivate.`,
        { memberId: m.id, status: m.status },
      );
    const next = await liftSuspension(tx, ctx, orgId, myRole, m);
    return { member: memberView(next, m), warnings: [] };
  });
}
