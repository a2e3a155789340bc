import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import type { Queryable, Tx } from '../db/schema.js';
import { conflict } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import { countActiveOwners } from '../orgs/store.js';
import {
  GroupEvaluationSchema,
  type RoleMapping,
  RoleMappingFields,
  RoleMappingInput,
  evaluateGroups,
  loadRoleMapping,
  validateRoleMapping,
} from '../orgs/role-mapping.js';
import { type Directory, loadDirectory } from './directories.js';
import { syncMembership, targetRole } from './lifecycle.js';
import type { SyncNote } from './sync-log.js';

export const RolePreviewInput = Type.Object(
  { mapping: Type.Optional(RoleMappingInput) },
  { additionalProperties: false },
);
export type RolePreviewInput = Static<typeof RolePreviewInput>;

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const RoleSchema = Type.Union([Type.Literal('primary_owner'), Type.Literal('admin'), Type.Literal('member')]);

export const ScimRolePreviewView = Type.Object(
  {
    mapping: Type.Object(RoleMappingFields, {
      description: 'The mapping evaluated: the saved one, or the one proposed.',
    }),
    groups: Type.Array(GroupEvaluationSchema, { description: "The directory's groups and what each maps to." }),
    users: Type.Array(
      Type.Object({
        scimUserId: Type.String(),
        userName: Type.String(),
        email: Nullable(Type.String()),
        active: Type.Boolean(),
        currentRole: Nullable(RoleSchema),
        membershipStatus: Nullable(
          Type.Union([Type.Literal('active'), Type.Literal('invited'), Type.Literal('suspended')]),
        ),
        source: Type.Union([Type.Literal('rule'), Type.Literal('default'), Type.Literal('none')]),
        groups: Type.Array(GroupEvaluationSchema),
        wouldGet: Nullable(RoleSchema),
        changes: Type.Boolean(),
        note: Type.Optional(Type.String({ description: 'Why this person is left as they are.' })),
      }),
    ),
    summary: Type.Object({
      wouldChange: Type.Integer(),
      mapping: Type.Union([Type.Literal('proposed'), Type.Literal('saved')]),
      roleSync: Type.Boolean(),
      applyWith: Type.String({ description: 'The call that applies the mapping.' }),
      message: Type.String(),
    }),
  },
  { $id: 'ScimRolePreviewView' },
);

/** A refusal or warning of the sync (as in the sync log's notes). */
export const SyncNoteSchema = Type.Object(
  {
    level: Type.Optional(Type.Literal('info')),
    cause: Type.String(),
    explanation: Type.String(),
    group: Type.Optional(Type.String()),
    expected: Type.Optional(Type.String()),
    user: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export const ScimRoleApplicationView = Type.Object(
  {
    users: Type.Integer({ description: 'Active provisioned people with an account the mapping was applied to.' }),
    changed: Type.Array(
      Type.Object({ userName: Type.String(), from: Nullable(Type.String()), to: Nullable(Type.String()) }),
    ),
    refused: Type.Array(SyncNoteSchema, { description: 'Changes refused, with the reason and the fix.' }),
  },
  { $id: 'ScimRoleApplicationView' },
);

/**
 * What applying a mapping to a directory's people would do, person by person, deciding exactly as
 * syncMembership does (and in the same order as apply-roles): inactive people are left alone, a
 * membership suspended by another live directory stays as it is, no matching group and no default
 * keeps the current role, and the last active primary owner is never demoted.
 */
async function planDirectoryRoles(db: Queryable, dir: Directory, mapping: RoleMapping) {
  const orgId = dir.org_id;
  const users = await db
    .selectFrom('scim_users')
    .leftJoin('users', 'users.id', 'scim_users.user_id')
    .leftJoin('memberships', (j) =>
      j.onRef('memberships.user_id', '=', 'scim_users.user_id').on('memberships.org_id', '=', orgId),
    )
    .select([
      'scim_users.id',
      'scim_users.user_name',
      'scim_users.active',
      'scim_users.user_id',
      'users.email',
      'memberships.role',
      'memberships.status',
      'memberships.suspended_by_directory_id',
    ])
    .where('scim_users.directory_id', '=', dir.id)
    .orderBy('scim_users.user_name_key')
    .execute();
  const links = await db
    .selectFrom('scim_group_members')
    .innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id')
    .select(['scim_group_members.scim_user_id', 'scim_groups.display_name'])
    .where('scim_group_members.directory_id', '=', dir.id)
    .execute();
  const groupsBy = new Map<string, string[]>();
  for (const l of links) groupsBy.set(l.scim_user_id, [...(groupsBy.get(l.scim_user_id) ?? []), l.display_name]);
  const liveDirectories = new Set(
    (
      await db
        .selectFrom('scim_directories')
        .select('id')
        .where('org_id', '=', orgId)
        .where('status', '=', 'active')
        .execute()
    ).map((d) => d.id),
  );
  let activeOwners = await countActiveOwners(db, orgId);
  const planned = users.map((u) => {
    const result = evaluateGroups(mapping, groupsBy.get(u.id) ?? []);
    const current = u.role ?? null;
    const base = {
      scimUserId: u.id,
      userName: u.user_name,
      email: u.email,
      active: u.active === 1,
      currentRole: current,
      membershipStatus: u.status ?? null,
      source: result.source,
      groups: result.groups,
    };
    const keep = (why: string | null = null) => ({
      ...base,
      wouldGet: u.active === 1 ? current : null,
      changes: false,
      ...(why ? { note: why } : {}),
    });
    if (u.active !== 1)
      return keep('Deactivated in the identity provider: applying roles leaves this person as they are.');
    if (u.user_id === null)
      return {
        ...base,
        wouldGet: null,
        changes: false,
        note: 'No Palisade account yet: the identity provider sent no usable email address. The role applies once an address arrives.',
      };
    if (
      u.status === 'suspended' &&
      u.suspended_by_directory_id &&
      u.suspended_by_directory_id !== dir.id &&
      liveDirectories.has(u.suspended_by_directory_id)
    ) {
      return keep('Suspended by another SCIM directory: this directory does not change them.');
    }
    const wanted = targetRole(result);
    if (current === null) return { ...base, wouldGet: wanted, changes: true };
    if (current === wanted || result.source === 'none') return keep();
    if (current === 'primary_owner') {
      const others = activeOwners - (u.status === 'active' ? 1 : 0);
      if (others < 1) return keep('The last active primary owner is never demoted by SCIM.');
      if (u.status === 'active') activeOwners -= 1;
    }
    return { ...base, wouldGet: wanted, changes: true };
  });
  return { users: planned, wouldChange: planned.filter((u) => u.changes).length };
}

const people = (n: number) => `${n} member${n === 1 ? '' : 's'}`;

/** The sentence an admin reads after a mapping change: how many would change, and the call that applies it. */
function pendingMessage(
  orgId: string,
  dir: Directory,
  wouldChange: number,
  proposed: boolean,
): { applyWith: string; message: string } {
  const path = `/api/v1/orgs/${orgId}/scim/directories/${dir.id}`;
  const applyWith = dir.role_sync === 1 ? `POST ${path}/apply-roles` : `PATCH ${path} {"roleSync":true}`;
  const under = proposed ? 'under the proposed mapping' : 'under the saved mapping';
  if (wouldChange === 0) return { applyWith, message: `No member of "${dir.name}" would change ${under}.` };
  const save = proposed ? `Save it with PUT /api/v1/orgs/${orgId}/role-mapping, then ` : '';
  const how =
    dir.role_sync === 1
      ? `${save}call ${applyWith} to apply it now; until then each person changes only at their next SCIM update.`
      : `${save}turn group-driven roles on with ${applyWith}, which applies them (apply-roles refuses while role sync is off).`;
  return {
    applyWith,
    message: `${people(wouldChange)} of "${dir.name}" would change role ${under}. ${how.charAt(0).toUpperCase()}${how.slice(1)}`,
  };
}

/**
 * Dry run over the directory's people: which role each would get from their SCIM groups under the
 * saved mapping (or a proposed one), beside the role they have now, and a summary that says how many
 * would change and which call applies it. Changes nothing.
 */
export async function previewDirectoryRoles(ctx: Ctx, orgId: string, directoryId: string, input: RolePreviewInput) {
  await authorize(ctx, orgId, 'scim.manage');
  const dir = await loadDirectory(ctx.db, orgId, directoryId);
  let mapping: RoleMapping;
  if (input.mapping) {
    validateRoleMapping(input.mapping);
    mapping = {
      requiredPrefix: input.mapping.requiredPrefix?.trim() ?? null,
      defaultRole: input.mapping.defaultRole,
      rules: input.mapping.rules.map((r, i) => ({ id: `proposed_${i}`, group: r.group, role: r.role })),
    };
  } else mapping = await loadRoleMapping(ctx.db, orgId);
  const plan = await planDirectoryRoles(ctx.db, dir, mapping);
  const groupNames = (
    await ctx.db
      .selectFrom('scim_groups')
      .select('display_name')
      .where('directory_id', '=', dir.id)
      .orderBy('display_key')
      .execute()
  ).map((g) => g.display_name);
  return {
    mapping,
    groups: evaluateGroups(mapping, groupNames).groups,
    users: plan.users,
    summary: {
      wouldChange: plan.wouldChange,
      mapping: input.mapping ? 'proposed' : 'saved',
      roleSync: dir.role_sync === 1,
      ...pendingMessage(orgId, dir, plan.wouldChange, !!input.mapping),
    },
  };
}

/**
 * After the organization's mapping changed: per SCIM directory, how many members the saved mapping
 * would change and the call that applies it (mapping changes apply only through apply-roles).
 */
export async function pendingScimRoleChanges(db: Queryable, orgId: string) {
  const mapping = await loadRoleMapping(db, orgId);
  const dirs = await db
    .selectFrom('scim_directories')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .orderBy('id')
    .execute();
  const out = [];
  for (const dir of dirs) {
    const { wouldChange } = await planDirectoryRoles(db, dir, mapping);
    out.push({
      directoryId: dir.id,
      name: dir.name,
      roleSync: dir.role_sync === 1,
      wouldChange,
      ...pendingMessage(orgId, dir, wouldChange, false),
    });
  }
  return out;
}

/** Applies the saved mapping to every active person of the directory now (after a mapping change). */
export async function applyRolesInTx(tx: Tx, ctx: Ctx, dir: Directory) {
  const mapping = await loadRoleMapping(tx, dir.org_id);
  // People without an account yet (no email address) have no membership to set.
  const rows = await tx
    .selectFrom('scim_users')
    .select(['id', 'user_id', 'user_name', 'active'])
    .where('directory_id', '=', dir.id)
    .where('active', '=', 1)
    .where('user_id', 'is not', null)
    .orderBy('user_name_key')
    .execute();
  const users = rows.flatMap((r) => (r.user_id === null ? [] : [{ ...r, user_id: r.user_id }]));
  const roleNow = async (userId: string) =>
    (
      await tx
        .selectFrom('memberships')
        .select('role')
        .where('org_id', '=', dir.org_id)
        .where('user_id', '=', userId)
        .executeTakeFirst()
    )?.role ?? null;
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
    if (dir.role_sync !== 1)
      throw conflict(
        'role_sync_off',
        'Group-driven roles are off for this directory. Preview with POST …/role-preview, then turn them on with PATCH {"roleSync": true}, which applies them.',
      );
    return applyRolesInTx(tx, ctx, dir);
  });
}
