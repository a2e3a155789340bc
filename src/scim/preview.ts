import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import type { Tx } from '../db/schema.js';
import { conflict } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import { type RoleMapping, RoleMappingInput, evaluateGroups, loadRoleMapping, validateRoleMapping } from '../orgs/role-mapping.js';
import { type Directory, loadDirectory } from './directories.js';
import { syncMembership, targetRole } from './lifecycle.js';
import type { SyncNote } from './sync-log.js';

export const RolePreviewInput = Type.Object({ mapping: Type.Optional(RoleMappingInput) }, { additionalProperties: false });
export type RolePreviewInput = Static<typeof RolePreviewInput>;

/**
 * Dry run over the directory's people: which role each would get from their SCIM groups under the
 * saved mapping (or a proposed one), beside the role they have now. Changes nothing.
 */
export async function previewDirectoryRoles(ctx: Ctx, orgId: string, directoryId: string, input: RolePreviewInput) {
  await authorize(ctx, orgId, 'scim.manage');
  const dir = await loadDirectory(ctx.db, orgId, directoryId);
  let mapping: RoleMapping;
  if (input.mapping) {
    validateRoleMapping(input.mapping);
    mapping = { requiredPrefix: input.mapping.requiredPrefix?.trim() ?? null, defaultRole: input.mapping.defaultRole, rules: input.mapping.rules.map((r, i) => ({ id: `proposed_${i}`, group: r.group, role: r.role })) };
  } else mapping = await loadRoleMapping(ctx.db, orgId);
  const users = await ctx.db
    .selectFrom('scim_users')
    .innerJoin('users', 'users.id', 'scim_users.user_id')
    .leftJoin('memberships', (j) => j.onRef('memberships.user_id', '=', 'scim_users.user_id').on('memberships.org_id', '=', orgId))
    .select(['scim_users.id', 'scim_users.user_name', 'scim_users.active', 'users.email', 'memberships.role'])
    .where('scim_users.directory_id', '=', dir.id)
    .orderBy('scim_users.user_name_key')
    .execute();
  const links = await ctx.db
    .selectFrom('scim_group_members')
    .innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id')
    .select(['scim_group_members.scim_user_id', 'scim_groups.display_name'])
    .where('scim_group_members.directory_id', '=', dir.id)
    .execute();
  const groupsBy = new Map<string, string[]>();
  for (const l of links) groupsBy.set(l.scim_user_id, [...(groupsBy.get(l.scim_user_id) ?? []), l.display_name]);
  const groupNames = (await ctx.db.selectFrom('scim_groups').select('display_name').where('directory_id', '=', dir.id).orderBy('display_key').execute()).map((g) => g.display_name);
  return {
    mapping,
    groups: evaluateGroups(mapping, groupNames).groups,
    users: users.map((u) => {
      const result = evaluateGroups(mapping, groupsBy.get(u.id) ?? []);
      const would = u.active !== 1 ? null : u.role === 'primary_owner' ? 'primary_owner' : result.source === 'none' && u.role ? u.role : targetRole(result);
      return { scimUserId: u.id, userName: u.user_name, email: u.email, active: u.active === 1, currentRole: u.role ?? null, wouldGet: would, changes: would !== (u.role ?? null), source: result.source, groups: result.groups };
    }),
  };
}

/** Applies the saved mapping to every active person of the directory now (after a mapping change). */
export async function applyRolesInTx(tx: Tx, ctx: Ctx, dir: Directory) {
  const mapping = await loadRoleMapping(tx, dir.org_id);
  const users = await tx.selectFrom('scim_users').select(['id', 'user_id', 'user_name', 'active']).where('directory_id', '=', dir.id).where('active', '=', 1).orderBy('user_name_key').execute();
  const roleNow = async (userId: string) => (await tx.selectFrom('memberships').select('role').where('org_id', '=', dir.org_id).where('user_id', '=', userId).executeTakeFirst())?.role ?? null;
  const changed: { userName: string; from: string | null; to: string | null }[] = [];
  const refused: SyncNote[] = [];
  for (const su of users) {
    const from = await roleNow(su.user_id);
    const notes = await syncMembership(tx, ctx, dir, su, mapping);
    refused.push(...notes.filter((n) => n.cause !== 'group_missing_prefix' && n.level !== 'info'));
    const to = await roleNow(su.user_id);
    if (from !== to) changed.push({ userName: su.user_name, from, to });
  }
  return { users: users.length, changed, refused };
}

export async function applyDirectoryRoles(ctx: Ctx, orgId: string, directoryId: string) {
  await authorize(ctx, orgId, 'scim.manage');
  return ctx.db.transaction().execute(async (tx) => {
    const dir = await loadDirectory(tx, orgId, directoryId);
    if (dir.role_sync !== 1) throw conflict('role_sync_off', 'Group-driven roles are off for this directory. Preview with POST …/role-preview, then turn them on with PATCH {"roleSync": true}, which applies them.');
    return applyRolesInTx(tx, ctx, dir);
  });
}
