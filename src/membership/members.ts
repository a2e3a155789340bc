import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { createLinkToken } from '../auth/link-tokens.js';
import type { Ctx } from '../context.js';
import { addressAuthority, domainManagedElsewhere } from '../domains/authority.js';
import { emailNotConfigured, enqueueEmail } from '../email/outbox.js';
import { invitationEmail } from '../email/templates.js';
import { emailConfigured } from '../email/transport.js';
import type { Membership, Queryable, Role, Tx } from '../db/schema.js';
import { PalisadeError, conflict } from '../errors.js';
import { containsIgnoringAsciiCase } from '../db/text-search.js';
import { type Page, type PageRequest, PageQuerySchema, pageOf } from '../http/pagination.js';
import { newId } from '../ids.js';
import { normalizeEmail } from '../users/email.js';
import { findOrCreateUser, findUserByEmail } from '../users/store.js';
import { authorize, missingPermission } from '../orgs/authorize.js';
import { roleAllows } from '../orgs/permissions.js';
import { countActiveOwners, countOwnersIncludingInvited, lockOrg } from '../orgs/store.js';
import { MemberStatusSchema, type MemberView, RoleSchema, type Warning, memberView } from '../orgs/views.js';
import { lastOwner, loadMember, memberRows, suspensionFacts } from './member-rows.js';
import { liftSuspension } from './suspension.js';

export const InviteMemberInput = Type.Object(
  {
    email: Type.String({ maxLength: 254 }),
    role: Type.Optional(RoleSchema),
    delivery: Type.Optional(
      Type.Union([Type.Literal('email'), Type.Literal('link')], {
        description:
          '`email` (default): the invitation goes to the address. `link`: the one-time link that sets a password is returned to you instead; allowed only for addresses at a domain this organization (or its company) verified.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const InvitationDelivery = Type.Object({
  method: Type.Union([Type.Literal('email'), Type.Literal('link'), Type.Literal('none')], {
    description:
      'How the invitation reached the person: by email, as a link returned to you, or not at all (they see it when they sign in).',
  }),
  requires: Type.Union(
    [Type.Literal('nothing'), Type.Literal('set_password'), Type.Literal('acceptance'), Type.Literal('sso_sign_in')],
    {
      description:
        '`nothing`: joined at once (managed address, proven). `set_password`: opens the link. `acceptance`: an existing account accepts while signed in. `sso_sign_in`: joins at first SSO sign-in.',
    },
  ),
  message: Type.String(),
});
export type InvitationDelivery = Static<typeof InvitationDelivery>;
export type InviteMemberInput = Static<typeof InviteMemberInput>;

export const UpdateMemberInput = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    status: Type.Optional(
      Type.Literal('active', {
        description:
          'Lift a suspension, as POST …/reactivate does: one an admin made, or one whose suspending SCIM directory was deleted; otherwise reactivate the person in the identity provider.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateMemberInput = Static<typeof UpdateMemberInput>;

export const ListMembersQuery = Type.Object({
  ...PageQuerySchema,
  status: Type.Optional(MemberStatusSchema),
  role: Type.Optional(RoleSchema),
  q: Type.Optional(
    Type.String({
      maxLength: 200,
      description:
        'Members whose address or name contains this text. Letters A–Z match either case; other letters (é, ß, …) match only as written, the same on SQLite and PostgreSQL. % and _ are plain characters.',
    }),
  ),
});
export type ListMembersQuery = Static<typeof ListMembersQuery>;
export type MemberFilter = Partial<Pick<ListMembersQuery, 'status' | 'role' | 'q'>>;

/** Past two primary owners the organization still works; the owner is told why fewer is safer. */
export const OWNER_WARNING_THRESHOLD = 2;

async function ownerWarnings(tx: Tx, orgId: string): Promise<Warning[]> {
  const owners = await countOwnersIncludingInvited(tx, orgId);
  return owners > OWNER_WARNING_THRESHOLD
    ? [
        {
          code: 'many_primary_owners',
          message: `This organization now has ${owners} primary owners. Each can delete the organization and change billing; consider making some of them admins instead.`,
        },
      ]
    : [];
}

export async function listMembers(
  ctx: Ctx,
  orgId: string,
  page: PageRequest,
  filter: MemberFilter = {},
): Promise<Page<MemberView>> {
  await authorize(ctx, orgId, 'members.read');
  let q = memberRows(ctx.db, orgId);
  if (filter.status) q = q.where('memberships.status', '=', filter.status);
  if (filter.role) q = q.where('memberships.role', '=', filter.role);
  const text = filter.q?.trim();
  if (text)
    q = q.where((eb) =>
      eb.or([
        containsIgnoringAsciiCase(ctx.db, eb.ref('users.email'), text),
        containsIgnoringAsciiCase(ctx.db, eb.ref('users.display_name'), text),
      ]),
    );
  const after = page.after?.[0];
  if (after !== undefined) q = q.where('memberships.id', '>', after);
  const rows = await q
    .orderBy('memberships.id')
    .limit(page.limit + 1)
    .execute();
  return pageOf(
    rows.map((r) => memberView(r, r, suspensionFacts(r))),
    page,
  );
}

/**
 * What an invitation does for the account behind the address (src/domains/authority.ts):
 * - `activate`: this company manages the address and its owner proved it: they join at once.
 * - `credential`: nobody controls the account yet (new, or never proven): a one-time link that sets
 *   a password goes to the address (or to the inviting admin, only where this company manages it).
 * - `consent`: someone already controls the account: they accept while signed in; no credential.
 * - `sso`: the organization enforces SSO: the person joins by signing in through it; no password.
 */
type InvitationPlan = 'activate' | 'credential' | 'consent' | 'sso';

export async function inviteMember(
  ctx: Ctx,
  orgId: string,
  input: InviteMemberInput,
): Promise<{
  member: MemberView;
  inviteLink: { url: string; expiresAt: string } | null;
  delivery: InvitationDelivery;
  warnings: Warning[];
}> {
  const { org, role: myRole } = await authorize(ctx, orgId, 'members.manage');
  const role: Role = input.role ?? 'member';
  if (role === 'primary_owner' && !roleAllows(myRole, 'owners.manage'))
    throw missingPermission('owners.manage', myRole);
  const email = normalizeEmail(input.email);
  const domain = email.slice(email.lastIndexOf('@') + 1);
  const authority = await addressAuthority(ctx.db, orgId, email);
  const found = await findUserByEmail(ctx.db, email);
  // Refusals that protect someone else's account are security events: audited with the reason.
  const deny = async (reason: string, err: PalisadeError): Promise<never> => {
    await ctx.db.transaction().execute((tx) =>
      recordAudit(tx, ctx, {
        orgId,
        action: 'member.invited',
        outcome: 'denied',
        targets: found ? [{ type: 'user', id: found.id, name: email }] : [],
        metadata: { role, reason, email, delivery: input.delivery ?? 'email' },
      }),
    );
    throw err;
  };
  if (authority.kind === 'other_company' && !found)
    await deny(
      'email_domain_captured',
      domainManagedElsewhere(email, authority.domain, 'inviting an address that has no account yet'),
    );
  const showLink = input.delivery === 'link';
  if (showLink && authority.kind !== 'this_company') {
    await deny(
      'invite_link_not_allowed',
      new PalisadeError(
        403,
        'invite_link_not_allowed',
        `A link that sets a password is delivered to ${email} itself, never shown to an admin, unless ${domain} is a domain this organization verified (then it manages those accounts). Send the invitation by email (leave out "delivery"), or verify ${domain} under Domains first.`,
        { details: { domain } },
      ),
    );
  }
  const enforced = await ctx.db
    .selectFrom('sso_enforcement')
    .select('connection_id')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  const plan: InvitationPlan = !found
    ? 'credential'
    : authority.kind === 'this_company'
      ? found.email_verified_at
        ? 'activate'
        : 'credential'
      : authority.kind === 'other_company' || found.password_hash !== null || found.email_verified_at !== null
        ? 'consent'
        : 'credential';
  const effective: InvitationPlan = plan === 'credential' && enforced && role !== 'primary_owner' ? 'sso' : plan;
  const mail = emailConfigured(ctx.config);
  if ((effective === 'credential' && !showLink) || effective === 'sso') {
    if (!mail) {
      const alternative =
        authority.kind === 'this_company'
          ? ` Or, since ${domain} is verified by this organization, send "delivery": "link" to get the link yourself and pass it on.`
          : '';
      throw emailNotConfigured(`Inviting ${email}, who has no Palisade password yet,`, alternative);
    }
  }
  return ctx.db.transaction().execute(async (tx) => {
    const now = ctx.clock.now();
    const { user } = await findOrCreateUser(tx, email, now);
    const existing = await tx
      .selectFrom('memberships')
      .select(['id', 'role', 'status'])
      .where('org_id', '=', orgId)
      .where('user_id', '=', user.id)
      .executeTakeFirst();
    if (existing?.status === 'suspended') {
      throw conflict(
        'member_suspended',
        `${email} is a member of this organization whose access is suspended by SCIM provisioning (deactivated in the identity provider). Reactivate them in the identity provider instead of inviting them again.`,
        { memberId: existing.id },
      );
    }
    if (existing) {
      throw conflict(
        'already_member',
        `${email} is already ${existing.status === 'invited' ? 'invited to' : 'a member of'} this organization as ${existing.role}. Change their role instead of inviting again.`,
        { memberId: existing.id },
      );
    }
    const status: Membership['status'] = effective === 'activate' ? 'active' : 'invited';
    const at = now.toISOString();
    const invitedBy = ctx.caller.kind === 'user' ? ctx.caller.userId : null;
    const m: Membership = {
      id: newId('mem', now),
      org_id: orgId,
      user_id: user.id,
      role,
      status,
      invited_by: invitedBy,
      created_at: at,
      updated_at: at,
      suspended_at: null,
      suspended_by_directory_id: null,
      suspended_by_user_id: null,
    };
    await tx.insertInto('memberships').values(m).execute();
    const link =
      effective === 'credential'
        ? await createLinkToken(tx, ctx, {
            purpose: 'invite',
            userId: user.id,
            orgId,
            membershipId: m.id,
            delivery: showLink ? 'shown' : 'email',
            issuedBy: invitedBy,
          })
        : null;
    const sendMail = mail && !(effective === 'credential' && showLink);
    if (sendMail) {
      const ssoUrl = enforced ? `${ctx.config.publicUrl}/sso/${enforced.connection_id}/start` : null;
      await enqueueEmail(tx, ctx.config, now, {
        orgId,
        template: 'invitation',
        to: email,
        content: invitationEmail({
          orgName: org.name,
          role,
          invitedBy: ctx.caller.kind === 'user' ? ctx.caller.email : null,
          setupUrl: link?.url ?? null,
          acceptUrl: effective === 'sso' && ssoUrl ? ssoUrl : `${ctx.config.publicUrl}/invitations`,
          joined: effective === 'activate',
          viaSso: effective === 'sso',
          expiresAt: link?.expiresAt ?? null,
        }),
      });
    }
    const delivery: InvitationDelivery = {
      method: effective === 'credential' && showLink ? 'link' : sendMail ? 'email' : 'none',
      requires:
        effective === 'activate'
          ? 'nothing'
          : effective === 'credential'
            ? 'set_password'
            : effective === 'sso'
              ? 'sso_sign_in'
              : 'acceptance',
      message: deliveryMessage(email, effective, showLink, sendMail),
    };
    await recordAudit(tx, ctx, {
      orgId,
      action: 'member.invited',
      targets: [
        { type: 'user', id: user.id, name: email },
        { type: 'membership', id: m.id },
      ],
      metadata: {
        role,
        status,
        delivery: delivery.method,
        requires: delivery.requires,
        addressManagedBy: authority.kind,
      },
    });
    const warnings = role === 'primary_owner' ? await ownerWarnings(tx, orgId) : [];
    return {
      member: memberView(m, user),
      inviteLink: link && showLink ? { url: link.url, expiresAt: link.expiresAt } : null,
      delivery,
      warnings,
    };
  });
}

function deliveryMessage(email: string, plan: InvitationPlan, showLink: boolean, mailed: boolean): string {
  switch (plan) {
    case 'activate':
      return `${email} joined at once: this organization manages their address and they have proven it.${mailed ? ' They were told by email.' : ''}`;
    case 'credential':
      return showLink
        ? `Pass the one-time link to ${email} yourself; it sets their password and accepts the invitation. It is shown once.`
        : `An email with a one-time link to set a password and accept went to ${email}.`;
    case 'sso':
      return `${email} joins when they first sign in through this organization's single sign-on; an email with the sign-in address went to them.`;
    case 'consent':
      return `${email} already has a Palisade account: they join when they accept the invitation while signed in${mailed ? ' (an email told them)' : ' (they see it under Invitations; no email server is configured to tell them)'}.`;
  }
}

/**
 * Changes a member's role and/or lifts a suspension. A suspension made by a SCIM directory that
 * still exists is the identity provider's to lift (409 suspended_by_scim); once that directory is
 * deleted, admins may lift it here. Roles of suspended members may change (they apply on return).
 */
export async function updateMember(
  ctx: Ctx,
  orgId: string,
  memberId: string,
  input: UpdateMemberInput,
): Promise<{ member: MemberView; warnings: Warning[] }> {
  const { role: myRole } = await authorize(ctx, orgId, 'members.manage');
  return ctx.db.transaction().execute(async (tx) => {
    await lockOrg(tx, orgId);
    const m = await loadMember(tx, orgId, memberId);
    const facts = suspensionFacts(m);
    const role = input.role ?? m.role;
    const reactivate = input.status === 'active' && m.status === 'suspended';
    if (input.status === 'active' && m.status === 'invited') {
      throw conflict(
        'invitation_pending',
        `${m.email} has not accepted the invitation yet; the membership becomes active when they do. Send a new invitation if the link expired.`,
        { memberId: m.id },
      );
    }
    if (role === m.role && !reactivate) return { member: memberView(m, m, facts), warnings: [] };
    if (role !== m.role) {
      if ((m.role === 'primary_owner' || role === 'primary_owner') && !roleAllows(myRole, 'owners.manage'))
        throw missingPermission('owners.manage', myRole);
      if (m.role === 'primary_owner' && m.status === 'active' && (await countActiveOwners(tx, orgId)) <= 1)
        throw lastOwner();
    }
    const at = ctx.clock.now().toISOString();
    // Lifting goes through the same checks as POST …/reactivate (a live SCIM directory's suspension is the IdP's).
    const next: Membership = reactivate
      ? await liftSuspension(tx, ctx, orgId, myRole, m, role)
      : { ...m, role, updated_at: at };
    if (!reactivate) await tx.updateTable('memberships').set({ role, updated_at: at }).where('id', '=', m.id).execute();
    if (role !== m.role)
      await recordAudit(tx, ctx, {
        orgId,
        action: 'member.role_changed',
        targets: [
          { type: 'user', id: m.user_id, name: m.email },
          { type: 'membership', id: m.id },
        ],
        metadata: { from: m.role, to: role },
      });
    const warnings = role === 'primary_owner' && role !== m.role ? await ownerWarnings(tx, orgId) : [];
    return { member: memberView(next, m), warnings };
  });
}

export async function removeMember(ctx: Ctx, orgId: string, memberId: string): Promise<void> {
  const { role: myRole } = await authorize(ctx, orgId, 'members.manage');
  await ctx.db.transaction().execute(async (tx) => {
    await lockOrg(tx, orgId);
    const m = await loadMember(tx, orgId, memberId);
    if (m.role === 'primary_owner' && !roleAllows(myRole, 'owners.manage'))
      throw missingPermission('owners.manage', myRole);
    if (m.role === 'primary_owner' && m.status === 'active' && (await countActiveOwners(tx, orgId)) <= 1)
      throw lastOwner();
    await tx.deleteFrom('memberships').where('id', '=', m.id).execute();
    await tx
      .updateTable('link_tokens')
      .set({ used_at: ctx.clock.now().toISOString() })
      .where('membership_id', '=', m.id)
      .where('used_at', 'is', null)
      .execute();
    // Gateway keys are bound to this organization: removal revokes them, so a later re-invitation does not revive them.
    await tx
      .updateTable('gateway_keys')
      .set({ revoked_at: ctx.clock.now().toISOString() })
      .where('org_id', '=', orgId)
      .where('user_id', '=', m.user_id)
      .where('revoked_at', 'is', null)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'member.removed',
      targets: [
        { type: 'user', id: m.user_id, name: m.email },
        { type: 'membership', id: m.id },
      ],
      metadata: { role: m.role, status: m.status },
    });
  });
}
