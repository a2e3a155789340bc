import type { AuditTarget } from '../audit/event.js';
import { recordAudit } from '../audit/record.js';
import { revokeAllCredentials } from '../auth/sessions.js';
import type { Ctx } from '../context.js';
import type { Membership, Role, Tx } from '../db/schema.js';
import { newId } from '../ids.js';
import { type MappingResult, type RoleMapping, evaluateGroups } from '../orgs/role-mapping.js';
import { countActiveOwners, lockOrg, orgLineage } from '../orgs/store.js';
import { findOrCreateUser } from '../users/store.js';
import { addressAuthority } from '../domains/authority.js';
import { enqueueEmail } from '../email/outbox.js';
import { invitationEmail } from '../email/templates.js';
import { emailConfigured } from '../email/transport.js';
import { ScimError } from './errors.js';
import type { Directory } from './directories.js';
import type { SyncNote } from './sync-log.js';

/**
 * What SCIM does to Palisade people: a SCIM user is linked to a Palisade user (by email) and a
 * membership in the directory's organization; its groups set the role through the shared mapping
 * rules; `active: false` suspends the membership (kept with its role, granting nothing) and DELETE
 * removes it, both taking the access away at once; `active: true` lifts the suspension.
 *
 * Roles: the highest role the user's mapped groups grant, else the mapping's default role, else
 * `member` (being assigned to the application in the identity provider is what grants access).
 * Primary owners are never created by SCIM, and the last active primary owner is never demoted
 * or deactivated by it: the request succeeds for everything else and the refusal is logged.
 */

export interface ScimLinkUser {
  id: string;
  user_id: string;
  user_name: string;
  active: number;
}

/** Group display names of a SCIM user in its directory. */
export async function groupNamesOf(tx: Tx, scimUserId: string): Promise<string[]> {
  const rows = await tx
    .selectFrom('scim_group_members')
    .innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id')
    .select('scim_groups.display_name')
    .where('scim_group_members.scim_user_id', '=', scimUserId)
    .execute();
  return rows.map((r) => r.display_name);
}

/** Why a mapping result gives its role, in words for the sync log. */
function because(result: MappingResult): string {
  const matched = result.groups
    .filter((g) => g.outcome === 'matched' && g.role === result.role)
    .map((g) => `"${g.group}"`);
  if (result.source === 'rule')
    return `group${matched.length > 1 ? 's' : ''} ${matched.join(', ')} map${matched.length > 1 ? '' : 's'} to ${result.role}`;
  if (result.source === 'default')
    return `no group matches a rule, so the organization's default role ${result.role} applies`;
  return 'no group matches a rule and there is no default role, so SCIM grants member';
}

export function targetRole(result: MappingResult): Role {
  return result.role ?? 'member';
}

/** Notes for groups that map to nothing, with the name they should have. */
export function mappingNotes(result: MappingResult, user?: string): SyncNote[] {
  return result.groups
    .filter((g) => g.outcome === 'missing_prefix')
    .map((g) => ({
      cause: 'group_missing_prefix',
      explanation: g.explanation,
      group: g.group,
      ...(g.expected ? { expected: g.expected } : {}),
      ...(user ? { user } : {}),
    }));
}

async function membershipOf(tx: Tx, orgId: string, userId: string): Promise<Membership | undefined> {
  return tx
    .selectFrom('memberships')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

/**
 * Finds or creates the Palisade user for a provisioned email, under the rules of
 * src/domains/authority.ts. A directory of the company that verified the address's domain vouches
 * for the person: their address counts as proven, and credentials that an unproven account carried
 * (set before anyone proved the address) end. A directory of another company may not create or
 * claim an account at that domain at all. Any other directory links an existing account only as an
 * invitation its owner accepts (see syncMembership).
 */
export async function linkPalisadeUser(
  tx: Tx,
  ctx: Ctx,
  dir: Directory,
  email: string,
  displayName: string | null,
  now: Date,
): Promise<string> {
  const authority = await addressAuthority(tx, dir.org_id, email);
  if (authority.kind === 'other_company') {
    throw new ScimError(
      403,
      'email_domain_captured',
      `${email} is at ${authority.domain}, a domain another organization verified in Palisade: only that organization creates or links accounts there, so this directory cannot provision it. Provision people at your own domains, or ask the person to accept an invitation from this organization while signed in to their own.`,
    );
  }
  const { user, created } = await findOrCreateUser(tx, email, now);
  const at = now.toISOString();
  if (created && displayName)
    await tx
      .updateTable('users')
      .set({ display_name: displayName.slice(0, 200) })
      .where('id', '=', user.id)
      .execute();
  if (authority.kind === 'this_company' && !user.email_verified_at) {
    if (!created) {
      const passwordCleared = user.password_hash !== null;
      if (passwordCleared)
        await tx
          .updateTable('users')
          .set({ password_hash: null, password_changed_at: at })
          .where('id', '=', user.id)
          .execute();
      const revoked = await revokeAllCredentials(tx, now, user.id);
      if (passwordCleared || revoked.sessions || revoked.tokens || revoked.gatewayKeys) {
        await recordAudit(tx, ctx, {
          orgId: dir.org_id,
          action: 'user.credentials_reset',
          targets: [
            { type: 'user', id: user.id, name: user.email },
            { type: 'scim_directory', id: dir.id },
          ],
          metadata: {
            reason: 'claimed_by_managing_organization',
            passwordCleared,
            sessionsRevoked: revoked.sessions,
            apiTokensRevoked: revoked.tokens,
            gatewayKeysRevoked: revoked.gatewayKeys,
          },
        });
      }
    }
    await tx.updateTable('users').set({ email_verified_at: at, updated_at: at }).where('id', '=', user.id).execute();
  }
  return user.id;
}

/**
 * Whether adding this person needs their consent: the account is someone's already (it has a
 * password, a proven address, or a place in another organization) and this organization does not
 * manage its address. An account this directory just created has none of these.
 */
async function needsConsent(tx: Tx, dir: Directory, su: ScimLinkUser): Promise<{ email: string } | null> {
  const user = await tx
    .selectFrom('users')
    .select(['email', 'password_hash', 'email_verified_at'])
    .where('id', '=', su.user_id)
    .executeTakeFirst();
  if (!user) return null;
  const elsewhere = await tx
    .selectFrom('memberships')
    .select('id')
    .where('user_id', '=', su.user_id)
    .where('org_id', '!=', dir.org_id)
    .limit(1)
    .executeTakeFirst();
  if (user.password_hash === null && user.email_verified_at === null && !elsewhere) return null;
  const authority = await addressAuthority(tx, dir.org_id, user.email);
  return authority.kind === 'this_company' ? null : { email: user.email };
}

const pendingConsentNote = (su: ScimLinkUser, email: string): SyncNote => ({
  cause: 'pending_consent',
  user: su.user_name,
  explanation: `${email} already has a Palisade account, and this organization has not verified its domain, so the directory cannot add it on its own: it was invited and joins when the person accepts while signed in. To provision such accounts directly, verify the domain under Domains.`,
});

/** A live (not deleted) SCIM directory of the organization, or undefined. */
async function liveDirectory(
  tx: Tx,
  orgId: string,
  directoryId: string,
): Promise<{ id: string; name: string } | undefined> {
  return tx
    .selectFrom('scim_directories')
    .select(['id', 'name'])
    .where('id', '=', directoryId)
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .executeTakeFirst();
}

/**
 * The role a membership should have under the mapping: the mapped role when role sync is on and a
 * rule or default applies, else the role it has (so a reactivated person gets their previous role
 * back when no mapping applies). The last active primary owner is never demoted.
 */
async function decideRole(
  tx: Tx,
  ctx: Ctx,
  dir: Directory,
  su: ScimLinkUser,
  m: Membership,
  result: MappingResult,
  targets: AuditTarget[],
): Promise<{ role: Role; notes: SyncNote[] }> {
  const wanted = targetRole(result);
  // With no matching group and no default role, an existing member keeps the role they have.
  if (dir.role_sync !== 1 || m.role === wanted || result.source === 'none') return { role: m.role, notes: [] };
  if (m.role === 'primary_owner') {
    await lockOrg(tx, dir.org_id);
    // A suspended owner is not counted among the active ones, so only the others matter either way.
    const others = (await countActiveOwners(tx, dir.org_id)) - (m.status === 'active' ? 1 : 0);
    if (others < 1) {
      const explanation = `${su.user_name} is the last active primary owner of the organization; SCIM does not demote them to ${wanted}. Make another person primary owner in Palisade first, or leave their groups as they are.`;
      await recordAudit(tx, ctx, {
        orgId: dir.org_id,
        action: 'scim.role_change_refused',
        outcome: 'denied',
        targets,
        metadata: { from: m.role, to: wanted, reason: 'last_primary_owner' },
      });
      return { role: m.role, notes: [{ cause: 'last_primary_owner', explanation, user: su.user_name }] };
    }
  }
  return { role: wanted, notes: [] };
}

/**
 * Brings an active SCIM user's membership in line: creates it (or activates an invitation, or lifts
 * this directory's suspension) and sets the role its groups map to. Returns notes for the sync log.
 */
export async function syncMembership(
  tx: Tx,
  ctx: Ctx,
  dir: Directory,
  su: ScimLinkUser,
  mapping: RoleMapping,
): Promise<SyncNote[]> {
  if (su.active !== 1) return [];
  const groups = await groupNamesOf(tx, su.id);
  const result = evaluateGroups(mapping, groups);
  const notes = mappingNotes(result, su.user_name);
  const now = ctx.clock.now();
  const at = now.toISOString();
  const m = await membershipOf(tx, dir.org_id, su.user_id);
  const wanted = targetRole(result);
  const targets = (mid: string): AuditTarget[] => [
    { type: 'user', id: su.user_id, name: su.user_name },
    { type: 'membership', id: mid },
    { type: 'scim_directory', id: dir.id },
  ];
  const matchedGroups = result.groups.filter((g) => g.outcome === 'matched').map((g) => g.group);
  if (!m) {
    const role: Role = dir.role_sync === 1 ? wanted : 'member';
    const id = newId('mem', now);
    const consent = await needsConsent(tx, dir, su);
    if (consent) {
      await tx
        .insertInto('memberships')
        .values({
          id,
          org_id: dir.org_id,
          user_id: su.user_id,
          role,
          status: 'invited',
          invited_by: null,
          created_at: at,
          updated_at: at,
          suspended_at: null,
          suspended_by_directory_id: null,
        })
        .execute();
      await recordAudit(tx, ctx, {
        orgId: dir.org_id,
        action: 'member.invited',
        targets: targets(id),
        metadata: { role, status: 'invited', requires: 'acceptance', via: 'scim', addressManagedBy: 'nobody' },
      });
      await inviteByEmail(tx, ctx, dir.org_id, consent.email, role);
      return [...notes, pendingConsentNote(su, consent.email)];
    }
    await tx
      .insertInto('memberships')
      .values({
        id,
        org_id: dir.org_id,
        user_id: su.user_id,
        role,
        status: 'active',
        invited_by: null,
        created_at: at,
        updated_at: at,
        suspended_at: null,
        suspended_by_directory_id: null,
      })
      .execute();
    await recordAudit(tx, ctx, {
      orgId: dir.org_id,
      action: 'scim.member_provisioned',
      targets: targets(id),
      metadata: { role, source: result.source, groups: matchedGroups },
    });
    return [
      ...notes,
      {
        level: 'info',
        cause: 'member_provisioned',
        user: su.user_name,
        explanation: `${su.user_name} joined the organization as ${role} (${dir.role_sync === 1 ? because(result) : 'group-driven roles are off for this directory'}).`,
      },
    ];
  }
  const reactivating = m.status === 'suspended';
  if (reactivating && m.suspended_by_directory_id !== null && m.suspended_by_directory_id !== dir.id) {
    // Two directories of one organization can link the same person: the one that suspended them decides.
    const other = await liveDirectory(tx, dir.org_id, m.suspended_by_directory_id);
    if (other) {
      return [
        ...notes,
        {
          cause: 'suspended_by_other_directory',
          user: su.user_name,
          explanation: `${su.user_name} is suspended in this organization by the SCIM directory "${other.name}" (${other.id}); this directory does not lift that suspension. Reactivate the person in the identity provider connected to "${other.name}".`,
        },
      ];
    }
  }
  if (reactivating && m.suspended_by_user_id !== null) {
    // An admin's suspension (src/orgs/suspension.ts) is the admin's to lift: the identity provider lifts only its own part.
    if (m.suspended_by_directory_id !== null)
      await tx
        .updateTable('memberships')
        .set({ suspended_by_directory_id: null, updated_at: at })
        .where('id', '=', m.id)
        .execute();
    return [
      ...notes,
      {
        cause: 'suspended_by_admin',
        user: su.user_name,
        explanation: `${su.user_name} is active in the identity provider, but an administrator suspended them in this organization; SCIM does not lift that. An admin reactivates them under Members.`,
      },
    ];
  }
  if (m.status === 'invited') {
    const consent = await needsConsent(tx, dir, su);
    if (consent) {
      if (dir.role_sync === 1 && result.source !== 'none' && m.role !== wanted && m.role !== 'primary_owner')
        await tx.updateTable('memberships').set({ role: wanted, updated_at: at }).where('id', '=', m.id).execute();
      return [...notes, pendingConsentNote(su, consent.email)];
    }
  }
  const decided = await decideRole(tx, ctx, dir, su, m, result, targets(m.id));
  notes.push(...decided.notes);
  if (m.status !== 'active') {
    await tx
      .updateTable('memberships')
      .set({
        status: 'active',
        role: decided.role,
        suspended_at: null,
        suspended_by_directory_id: null,
        updated_at: at,
      })
      .where('id', '=', m.id)
      .execute();
    if (reactivating) {
      await recordAudit(tx, ctx, {
        orgId: dir.org_id,
        action: 'scim.user_reactivated',
        targets: targets(m.id),
        metadata: {
          membershipId: m.id,
          role: decided.role,
          previousRole: m.role,
          suspendedAt: m.suspended_at,
          suspendedByDirectoryId: m.suspended_by_directory_id,
        },
      });
      notes.push({
        level: 'info',
        cause: 'member_reactivated',
        user: su.user_name,
        explanation: `${su.user_name} was reactivated: their suspended membership is active again as ${decided.role}${decided.role === m.role ? ' (their previous role)' : ''}.`,
      });
    } else {
      await recordAudit(tx, ctx, {
        orgId: dir.org_id,
        action: 'scim.member_activated',
        targets: targets(m.id),
        metadata: { role: decided.role },
      });
    }
  } else if (decided.role !== m.role) {
    await tx.updateTable('memberships').set({ role: decided.role, updated_at: at }).where('id', '=', m.id).execute();
  }
  if (decided.role !== m.role) {
    await recordAudit(tx, ctx, {
      orgId: dir.org_id,
      action: 'member.role_changed',
      targets: targets(m.id),
      metadata: { from: m.role, to: decided.role, source: 'scim', groups: matchedGroups },
    });
    notes.push({
      level: 'info',
      cause: 'role_changed',
      user: su.user_name,
      explanation: `${su.user_name}: ${m.role} → ${decided.role} (${because(result)}).`,
    });
  }
  return notes;
}

/** Tells an existing account's owner that the organization invited them (when mail is configured). */
async function inviteByEmail(tx: Tx, ctx: Ctx, orgId: string, email: string, role: Role): Promise<void> {
  if (!emailConfigured(ctx.config)) return;
  const org = await tx.selectFrom('organizations').select('name').where('id', '=', orgId).executeTakeFirstOrThrow();
  await enqueueEmail(tx, ctx.config, ctx.clock.now(), {
    orgId,
    template: 'invitation',
    to: email,
    content: invitationEmail({
      orgName: org.name,
      role,
      invitedBy: null,
      setupUrl: null,
      acceptUrl: `${ctx.config.publicUrl}/invitations`,
      joined: false,
      viaSso: false,
      expiresAt: null,
    }),
  });
}

async function rootOf(tx: Tx, orgId: string): Promise<string> {
  const lineage = await orgLineage(tx, orgId);
  return lineage[lineage.length - 1]?.id ?? orgId;
}

/** Active memberships of a person in organizations outside this organization's tree (other companies). */
async function outsideMemberships(tx: Tx, orgId: string, userId: string): Promise<string[]> {
  const rows = await tx
    .selectFrom('memberships')
    .select('org_id')
    .where('user_id', '=', userId)
    .where('status', '=', 'active')
    .execute();
  if (!rows.length) return [];
  const root = await rootOf(tx, orgId);
  const outside: string[] = [];
  for (const r of rows) if ((await rootOf(tx, r.org_id)) !== root) outside.push(r.org_id);
  return outside;
}

/**
 * Takes a deprovisioned person's access away in the caller's transaction. Deactivation (`active:
 * false`) suspends the membership: it keeps its role for reactivation and grants nothing meanwhile.
 * DELETE removes it. Either way the person's sessions, API tokens and gateway keys are revoked
 * unless they still belong to an organization outside this organization's tree (one company's
 * directory must not sign people out of another company); the gateway keys bound to this
 * organization are revoked in every case.
 */
export async function deprovision(
  tx: Tx,
  ctx: Ctx,
  dir: Directory,
  su: ScimLinkUser,
  why: 'deactivated' | 'deleted',
): Promise<SyncNote[]> {
  const m = await membershipOf(tx, dir.org_id, su.user_id);
  const targets: AuditTarget[] = [
    { type: 'user', id: su.user_id, name: su.user_name },
    ...(m ? [{ type: 'membership', id: m.id }] : []),
    { type: 'scim_directory', id: dir.id },
  ];
  if (m?.role === 'primary_owner' && m.status === 'active') {
    await lockOrg(tx, dir.org_id);
    if ((await countActiveOwners(tx, dir.org_id)) <= 1) {
      await recordAudit(tx, ctx, {
        orgId: dir.org_id,
        action: 'scim.deprovision_refused',
        outcome: 'denied',
        targets,
        metadata: { reason: 'last_primary_owner', why, membershipId: m.id },
      });
      return [
        {
          cause: 'last_primary_owner',
          user: su.user_name,
          explanation: `${su.user_name} is the last active primary owner of the organization, so SCIM did not remove their access. Make another person primary owner in Palisade, then deactivate this user again.`,
        },
      ];
    }
  }
  const now = ctx.clock.now();
  const at = now.toISOString();
  let suspended = false;
  if (m && why === 'deleted') {
    await tx.deleteFrom('memberships').where('id', '=', m.id).execute();
    await tx
      .updateTable('link_tokens')
      .set({ used_at: at })
      .where('membership_id', '=', m.id)
      .where('used_at', 'is', null)
      .execute();
  } else if (m && m.status !== 'suspended') {
    await tx
      .updateTable('memberships')
      .set({ status: 'suspended', suspended_at: at, suspended_by_directory_id: dir.id, updated_at: at })
      .where('id', '=', m.id)
      .execute();
    // An unaccepted invitation must not turn the suspended membership back into an active one.
    await tx
      .updateTable('link_tokens')
      .set({ used_at: at })
      .where('membership_id', '=', m.id)
      .where('used_at', 'is', null)
      .execute();
    suspended = true;
  } else if (m && m.suspended_by_directory_id === null) {
    // Already suspended by an admin: the identity provider's deactivation joins it, so an admin's
    // reactivation alone does not let in someone the identity provider says is gone.
    await tx
      .updateTable('memberships')
      .set({ suspended_by_directory_id: dir.id, updated_at: at })
      .where('id', '=', m.id)
      .execute();
  }
  const others = await outsideMemberships(tx, dir.org_id, su.user_id);
  const revoked =
    others.length === 0 ? await revokeAllCredentials(tx, now, su.user_id) : { sessions: 0, tokens: 0, gatewayKeys: 0 };
  const orgKeys = await tx
    .updateTable('gateway_keys')
    .set({ revoked_at: at })
    .where('org_id', '=', dir.org_id)
    .where('user_id', '=', su.user_id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  await recordAudit(tx, ctx, {
    orgId: dir.org_id,
    action: why === 'deleted' ? 'scim.user_deleted' : 'scim.user_deactivated',
    targets,
    metadata: {
      membershipId: m?.id ?? null,
      membershipRemoved: why === 'deleted' && m !== undefined,
      membershipSuspended: suspended || (why === 'deactivated' && m?.status === 'suspended'),
      role: m?.role ?? null,
      previousStatus: m?.status ?? null,
      sessionsRevoked: revoked.sessions,
      tokensRevoked: revoked.tokens,
      gatewayKeysRevoked: revoked.gatewayKeys + Number(orgKeys.numUpdatedRows),
      keptCredentialsForOtherOrganizations: others.length > 0,
    },
  });
  if (!m) return [];
  return [
    why === 'deleted'
      ? {
          level: 'info',
          cause: 'member_removed',
          user: su.user_name,
          explanation: `${su.user_name} was deleted in the identity provider: their membership (${m.role}) is removed.`,
        }
      : {
          level: 'info',
          cause: 'member_suspended',
          user: su.user_name,
          explanation: `${su.user_name} was deactivated in the identity provider: their membership is suspended (role ${m.role} kept for reactivation) and their sign-ins and keys are revoked.`,
        },
  ];
}
