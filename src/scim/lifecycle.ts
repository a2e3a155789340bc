import { recordAudit } from '../audit/record.js';
import { revokeAllCredentials } from '../auth/sessions.js';
import type { Ctx } from '../context.js';
import type { Membership, Role, Tx } from '../db/schema.js';
import { newId } from '../ids.js';
import { type MappingResult, type RoleMapping, evaluateGroups } from '../orgs/role-mapping.js';
import { countActiveOwners, lockOrg, orgLineage } from '../orgs/store.js';
import { findOrCreateUser } from '../users/store.js';
import type { Directory } from './directories.js';
import type { SyncNote } from './sync-log.js';

/**
 * What SCIM does to Palisade people: a SCIM user is linked to a Palisade user (by email) and a
 * membership in the directory's organization; its groups set the role through the shared mapping
 * rules; `active: false` or DELETE takes the access away at once.
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
  const matched = result.groups.filter((g) => g.outcome === 'matched' && g.role === result.role).map((g) => `"${g.group}"`);
  if (result.source === 'rule') return `group${matched.length > 1 ? 's' : ''} ${matched.join(', ')} map${matched.length > 1 ? '' : 's'} to ${result.role}`;
  if (result.source === 'default') return `no group matches a rule, so the organization's default role ${result.role} applies`;
  return 'no group matches a rule and there is no default role, so SCIM grants member';
}

export function targetRole(result: MappingResult): Role {
  return result.role ?? 'member';
}

/** Notes for groups that map to nothing, with the name they should have. */
export function mappingNotes(result: MappingResult, user?: string): SyncNote[] {
  return result.groups
    .filter((g) => g.outcome === 'missing_prefix')
    .map((g) => ({ cause: 'group_missing_prefix', explanation: g.explanation, group: g.group, ...(g.expected ? { expected: g.expected } : {}), ...(user ? { user } : {}) }));
}

async function membershipOf(tx: Tx, orgId: string, userId: string): Promise<Membership | undefined> {
  return tx.selectFrom('memberships').selectAll().where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
}

/** Finds or creates the Palisade user for a provisioned email. */
export async function linkPalisadeUser(tx: Tx, email: string, displayName: string | null, now: Date): Promise<string> {
  const { user, created } = await findOrCreateUser(tx, email, now);
  if (created && displayName) await tx.updateTable('users').set({ display_name: displayName.slice(0, 200) }).where('id', '=', user.id).execute();
  return user.id;
}

/**
 * Brings an active SCIM user's membership in line: creates it (or activates an invitation) and sets
 * the role its groups map to. Returns notes for the sync log.
 */
export async function syncMembership(tx: Tx, ctx: Ctx, dir: Directory, su: ScimLinkUser, mapping: RoleMapping): Promise<SyncNote[]> {
  if (su.active !== 1) return [];
  const groups = await groupNamesOf(tx, su.id);
  const result = evaluateGroups(mapping, groups);
  const notes = mappingNotes(result, su.user_name);
  const now = ctx.clock.now();
  const at = now.toISOString();
  const m = await membershipOf(tx, dir.org_id, su.user_id);
  const wanted = targetRole(result);
  const targets = (mid: string) => [{ type: 'user', id: su.user_id, name: su.user_name }, { type: 'membership', id: mid }, { type: 'scim_directory', id: dir.id }];
  if (!m) {
    const role: Role = dir.role_sync === 1 ? wanted : 'member';
    const id = newId('mem', now);
    await tx.insertInto('memberships').values({ id, org_id: dir.org_id, user_id: su.user_id, role, status: 'active', invited_by: null, created_at: at, updated_at: at }).execute();
    await recordAudit(tx, ctx, { orgId: dir.org_id, action: 'scim.member_provisioned', targets: targets(id), metadata: { role, source: result.source, groups: result.groups.filter((g) => g.outcome === 'matched').map((g) => g.group) } });
    return [...notes, { level: 'info', cause: 'member_provisioned', user: su.user_name, explanation: `${su.user_name} joined the organization as ${role} (${dir.role_sync === 1 ? because(result) : 'group-driven roles are off for this directory'}).` }];
  }
  if (m.status !== 'active') {
    await tx.updateTable('memberships').set({ status: 'active', updated_at: at }).where('id', '=', m.id).execute();
    await recordAudit(tx, ctx, { orgId: dir.org_id, action: 'scim.member_activated', targets: targets(m.id), metadata: { role: m.role } });
  }
  if (dir.role_sync !== 1 || m.role === wanted) return notes;
  // With no matching group and no default role, an existing member keeps the role they have.
  if (result.source === 'none' && m.role !== 'primary_owner') return notes;
  if (m.role === 'primary_owner') {
    if (result.source === 'none') return notes;
    await lockOrg(tx, dir.org_id);
    if ((await countActiveOwners(tx, dir.org_id)) <= 1) {
      const explanation = `${su.user_name} is the last active primary owner of the organization; SCIM does not demote them to ${wanted}. Make another person primary owner in Palisade first, or leave their groups as they are.`;
      await recordAudit(tx, ctx, { orgId: dir.org_id, action: 'scim.role_change_refused', outcome: 'denied', targets: targets(m.id), metadata: { from: m.role, to: wanted, reason: 'last_primary_owner' } });
      return [...notes, { cause: 'last_primary_owner', explanation, user: su.user_name }];
    }
  }
  await tx.updateTable('memberships').set({ role: wanted, updated_at: at }).where('id', '=', m.id).execute();
  await recordAudit(tx, ctx, { orgId: dir.org_id, action: 'member.role_changed', targets: targets(m.id), metadata: { from: m.role, to: wanted, source: 'scim', groups: result.groups.filter((g) => g.outcome === 'matched').map((g) => g.group) } });
  return [...notes, { level: 'info', cause: 'role_changed', user: su.user_name, explanation: `${su.user_name}: ${m.role} → ${wanted} (${because(result)}).` }];
}

async function rootOf(tx: Tx, orgId: string): Promise<string> {
  const lineage = await orgLineage(tx, orgId);
  return lineage[lineage.length - 1]?.id ?? orgId;
}

/** Active memberships of a person in organizations outside this organization's tree (other companies). */
async function outsideMemberships(tx: Tx, orgId: string, userId: string): Promise<string[]> {
  const rows = await tx.selectFrom('memberships').select('org_id').where('user_id', '=', userId).where('status', '=', 'active').execute();
  if (!rows.length) return [];
  const root = await rootOf(tx, orgId);
  const outside: string[] = [];
  for (const r of rows) if ((await rootOf(tx, r.org_id)) !== root) outside.push(r.org_id);
  return outside;
}

/**
 * Takes a deprovisioned person's access away in the caller's transaction: the membership ends, and
 * their sessions and API tokens are revoked unless they still belong to an organization outside
 * this organization's tree (one company's directory must not sign people out of another company).
 */
export async function deprovision(tx: Tx, ctx: Ctx, dir: Directory, su: ScimLinkUser, why: 'deactivated' | 'deleted'): Promise<SyncNote[]> {
  const m = await membershipOf(tx, dir.org_id, su.user_id);
  const targets = [{ type: 'user', id: su.user_id, name: su.user_name }, { type: 'scim_directory', id: dir.id }];
  if (m?.role === 'primary_owner' && m.status === 'active') {
    await lockOrg(tx, dir.org_id);
    if ((await countActiveOwners(tx, dir.org_id)) <= 1) {
      await recordAudit(tx, ctx, { orgId: dir.org_id, action: 'scim.deprovision_refused', outcome: 'denied', targets, metadata: { reason: 'last_primary_owner', why } });
      return [{ cause: 'last_primary_owner', user: su.user_name, explanation: `${su.user_name} is the last active primary owner of the organization, so SCIM did not remove their access. Make another person primary owner in Palisade, then deactivate this user again.` }];
    }
  }
  if (m) await tx.deleteFrom('memberships').where('id', '=', m.id).execute();
  const others = await outsideMemberships(tx, dir.org_id, su.user_id);
  const revoked = others.length === 0 ? await revokeAllCredentials(tx, ctx.clock.now(), su.user_id) : { sessions: 0, tokens: 0 };
  await recordAudit(tx, ctx, {
    orgId: dir.org_id,
    action: why === 'deleted' ? 'scim.user_deleted' : 'scim.user_deactivated',
    targets,
    metadata: { membershipRemoved: m !== undefined, role: m?.role ?? null, sessionsRevoked: revoked.sessions, tokensRevoked: revoked.tokens, keptCredentialsForOtherOrganizations: others.length > 0 },
  });
  return [];
}
