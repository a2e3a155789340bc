import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { createLinkToken } from '../auth/link-tokens.js';
import type { Ctx } from '../context.js';
import { refuseCapturedEmail } from '../domains/capture.js';
import type { Membership, Role, Tx } from '../db/schema.js';
import { conflict, notFound } from '../errors.js';
import { type Page, type PageRequest, pageOf } from '../http/pagination.js';
import { newId } from '../ids.js';
import { normalizeEmail } from '../users/email.js';
import { findOrCreateUser } from '../users/store.js';
import { authorize, missingPermission } from './authorize.js';
import { roleAllows } from './permissions.js';
import { countActiveOwners, countOwnersIncludingInvited, lockOrg } from './store.js';
import { type MemberView, RoleSchema, type Warning, memberView } from './views.js';

export const InviteMemberInput = Type.Object(
  { email: Type.String({ maxLength: 254 }), role: Type.Optional(RoleSchema) },
  { additionalProperties: false },
);
export type InviteMemberInput = Static<typeof InviteMemberInput>;

export const ChangeRoleInput = Type.Object({ role: RoleSchema }, { additionalProperties: false });
export type ChangeRoleInput = Static<typeof ChangeRoleInput>;

/** Past two primary owners the organization still works; the owner is told why fewer is safer. */
export const OWNER_WARNING_THRESHOLD = 2;

async function ownerWarnings(tx: Tx, orgId: string): Promise<Warning[]> {
  const owners = await countOwnersIncludingInvited(tx, orgId);
  return owners > OWNER_WARNING_THRESHOLD
    ? [{ code: 'many_primary_owners', message: `This organization now has ${owners} primary owners. Each can delete the organization and change billing; consider making some of them admins instead.` }]
    : [];
}

export async function listMembers(ctx: Ctx, orgId: string, page: PageRequest): Promise<Page<MemberView>> {
  await authorize(ctx, orgId, 'members.read');
  let q = ctx.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .selectAll('memberships')
    .select(['users.email', 'users.display_name'])
    .where('memberships.org_id', '=', orgId);
  const after = page.after?.[0];
  if (after !== undefined) q = q.where('memberships.id', '>', after);
  const rows = await q.orderBy('memberships.id').limit(page.limit + 1).execute();
  return pageOf(rows.map((r) => memberView(r, r)), page);
}

export async function inviteMember(
  ctx: Ctx,
  orgId: string,
  input: InviteMemberInput,
): Promise<{ member: MemberView; inviteLink: { url: string; expiresAt: string } | null; warnings: Warning[] }> {
  const { role: myRole } = await authorize(ctx, orgId, 'members.manage');
  const role: Role = input.role ?? 'member';
  if (role === 'primary_owner' && !roleAllows(myRole, 'owners.manage')) throw missingPermission('owners.manage', myRole);
  const email = normalizeEmail(input.email);
  // An address at a domain another organization verified joins only that organization's tree.
  await refuseCapturedEmail(ctx.db, email, orgId, 'invitee');
  return ctx.db.transaction().execute(async (tx) => {
    const now = ctx.clock.now();
    const { user } = await findOrCreateUser(tx, email, now);
    const existing = await tx.selectFrom('memberships').select(['id', 'role', 'status']).where('org_id', '=', orgId).where('user_id', '=', user.id).executeTakeFirst();
    if (existing) {
      throw conflict('already_member', `${email} is already ${existing.status === 'invited' ? 'invited to' : 'a member of'} this organization as ${existing.role}. Change their role instead of inviting again.`, { memberId: existing.id });
    }
    // Someone who already has a password here joins at once; someone new gets a one-time link to set one.
    const status: Membership['status'] = user.password_hash ? 'active' : 'invited';
    const at = now.toISOString();
    const m: Membership = { id: newId('mem', now), org_id: orgId, user_id: user.id, role, status, invited_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null, created_at: at, updated_at: at };
    await tx.insertInto('memberships').values(m).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'member.invited',
      targets: [{ type: 'user', id: user.id, name: email }, { type: 'membership', id: m.id }],
      metadata: { role, status },
    });
    const link = status === 'invited' ? await createLinkToken(tx, ctx, { purpose: 'invite', userId: user.id, orgId, membershipId: m.id }) : null;
    const warnings = role === 'primary_owner' ? await ownerWarnings(tx, orgId) : [];
    return { member: memberView(m, user), inviteLink: link && { url: link.url, expiresAt: link.expiresAt }, warnings };
  });
}

async function loadMember(tx: Tx, orgId: string, memberId: string) {
  const row = await tx
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .selectAll('memberships')
    .select(['users.email', 'users.display_name'])
    .where('memberships.id', '=', memberId)
    .where('memberships.org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) throw notFound('member');
  return row;
}

const lastOwner = () =>
  conflict('last_primary_owner', 'This is the last active primary owner of the organization. Promote another member to primary owner first, then try again.');

export async function changeMemberRole(ctx: Ctx, orgId: string, memberId: string, input: ChangeRoleInput): Promise<{ member: MemberView; warnings: Warning[] }> {
  const { role: myRole } = await authorize(ctx, orgId, 'members.manage');
  return ctx.db.transaction().execute(async (tx) => {
    await lockOrg(tx, orgId);
    const m = await loadMember(tx, orgId, memberId);
    if (m.role === input.role) return { member: memberView(m, m), warnings: [] };
    if ((m.role === 'primary_owner' || input.role === 'primary_owner') && !roleAllows(myRole, 'owners.manage')) throw missingPermission('owners.manage', myRole);
    if (m.role === 'primary_owner' && m.status === 'active' && (await countActiveOwners(tx, orgId)) <= 1) throw lastOwner();
    const at = ctx.clock.now().toISOString();
    await tx.updateTable('memberships').set({ role: input.role, updated_at: at }).where('id', '=', m.id).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'member.role_changed',
      targets: [{ type: 'user', id: m.user_id, name: m.email }, { type: 'membership', id: m.id }],
      metadata: { from: m.role, to: input.role },
    });
    const warnings = input.role === 'primary_owner' ? await ownerWarnings(tx, orgId) : [];
    return { member: memberView({ ...m, role: input.role, updated_at: at }, m), warnings };
  });
}

export async function removeMember(ctx: Ctx, orgId: string, memberId: string): Promise<void> {
  const { role: myRole } = await authorize(ctx, orgId, 'members.manage');
  await ctx.db.transaction().execute(async (tx) => {
    await lockOrg(tx, orgId);
    const m = await loadMember(tx, orgId, memberId);
    if (m.role === 'primary_owner' && !roleAllows(myRole, 'owners.manage')) throw missingPermission('owners.manage', myRole);
    if (m.role === 'primary_owner' && m.status === 'active' && (await countActiveOwners(tx, orgId)) <= 1) throw lastOwner();
    await tx.deleteFrom('memberships').where('id', '=', m.id).execute();
    await tx.updateTable('link_tokens').set({ used_at: ctx.clock.now().toISOString() }).where('membership_id', '=', m.id).where('used_at', 'is', null).execute();
    // Gateway keys are bound to this organization: removal revokes them, so a later re-invitation does not revive them.
    await tx.updateTable('gateway_keys').set({ revoked_at: ctx.clock.now().toISOString() }).where('org_id', '=', orgId).where('user_id', '=', m.user_id).where('revoked_at', 'is', null).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'member.removed',
      targets: [{ type: 'user', id: m.user_id, name: m.email }, { type: 'membership', id: m.id }],
      metadata: { role: m.role, status: m.status },
    });
  });
}
