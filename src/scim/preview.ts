import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { authorize } from '../orgs/authorize.js';
import { type RoleMapping, RoleMappingInput, evaluateGroups, loadRoleMapping, validateRoleMapping } from '../orgs/role-mapping.js';
import { loadDirectory } from './directories.js';
import { targetRole } from './lifecycle.js';

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
