import { Type, type Static } from '@sinclair/typebox';
import { INHERITED_ROLES, PERMISSIONS, type Permission } from '../orgs/permissions.js';
import { ROLES, type Role } from '../db/schema.js';
import { type ComplianceCall, assertOrgVisible } from './call.js';
import { complianceError } from './errors.js';
import { limitParam } from './query.js';

/**
 * The directory: organizations the key sees, their members (role, status, where the account comes
 * from, last sign-in), SCIM groups and the roles Palisade knows. Lists page with an opaque
 * `page` token (`next_page`), like the original API's directory lists.
 */
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;

export const DirectoryPageQuery = Type.Object(
  {
    ...limitParam(MAX_LIMIT, DEFAULT_LIMIT),
    page: Type.Optional(Type.String({ maxLength: 200, description: 'next_page from the previous page.' })),
  },
  { additionalProperties: false },
);
export type DirectoryPageQuery = Static<typeof DirectoryPageQuery>;

export const offsetPageSchema = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({
    data: Type.Array(item),
    has_more: Type.Boolean(),
    next_page: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as page for the next page; null on the last.',
    }),
  });

function afterOf(query: DirectoryPageQuery): string | undefined {
  if (!query.page) return undefined;
  const decoded = Buffer.from(query.page, 'base64url').toString('utf8');
  if (!/^[a-z]{3,4}_[A-Za-z0-9_-]{1,80}$/.test(decoded))
    throw complianceError('invalid_cursor', 'page is not a next_page this list returned. Start again without page.', {
      field: 'page',
    });
  return decoded;
}

function paged<T extends { id: string }>(rows: T[], limit: number) {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  const hasMore = rows.length > limit;
  return { data, has_more: hasMore, next_page: hasMore && last ? Buffer.from(last.id).toString('base64url') : null };
}

export const OrganizationView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  parent_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});

export async function listOrganizations(call: ComplianceCall): Promise<{ data: Static<typeof OrganizationView>[] }> {
  const { db } = call.ctx;
  if (!call.key.orgIds.length) return { data: [] };
  const rows = await db
    .selectFrom('organizations')
    .select(['id', 'name', 'parent_id', 'created_at'])
    .where('id', 'in', call.key.orgIds)
    .orderBy('id')
    .execute();
  // A limited key sees its organizations, not the parent above them.
  const visible = new Set(call.key.orgIds);
  return {
    data: rows.map((o) => ({
      id: o.id,
      name: o.name,
      parent_id: o.parent_id && visible.has(o.parent_id) ? o.parent_id : null,
      created_at: o.created_at,
    })),
  };
}

export const MemberSource = Type.Union([Type.Literal('scim'), Type.Literal('sso'), Type.Literal('manual')], {
  description:
    'scim: provisioned by a SCIM directory of this organization; sso: signs in through its single sign-on (just-in-time or invited); manual: invited or created by an administrator or operator.',
});

export const DirectoryUserView = Type.Object({
  id: Type.String({ description: 'The user id (usr_…).' }),
  membership_id: Type.String(),
  email_address: Type.String(),
  full_name: Type.Union([Type.String(), Type.Null()]),
  role: Type.String(),
  status: Type.String({ description: 'active, invited or suspended (deactivated by SCIM).' }),
  source: MemberSource,
  scim: Type.Union([
    Type.Object({
      directory_id: Type.String(),
      user_name: Type.String(),
      external_id: Type.Union([Type.String(), Type.Null()]),
      active: Type.Boolean(),
    }),
    Type.Null(),
  ]),
  sso: Type.Union([Type.Object({ connection_id: Type.String(), last_sign_in_at: Type.String() }), Type.Null()]),
  last_sign_in_at: Type.Union([Type.String(), Type.Null()], {
    description: 'When the person last started a session (any sign-in method).',
  }),
  last_sign_in_method: Type.Union([Type.String(), Type.Null()]),
  email_verified: Type.Boolean(),
  created_at: Type.String({ description: 'When the membership was created.' }),
});
export type DirectoryUserView = Static<typeof DirectoryUserView>;

export async function listOrganizationUsers(call: ComplianceCall, orgId: string, query: DirectoryPageQuery) {
  assertOrgVisible(call, orgId);
  const { db } = call.ctx;
  const limit = query.limit ?? DEFAULT_LIMIT;
  const after = afterOf(query);
  let q = db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select([
      'memberships.id',
      'memberships.user_id',
      'memberships.role',
      'memberships.status',
      'memberships.created_at',
      'users.email',
      'users.display_name',
      'users.email_verified_at',
    ])
    .where('memberships.org_id', '=', orgId);
  if (after) q = q.where('memberships.id', '>', after);
  const rows = await q
    .orderBy('memberships.id')
    .limit(limit + 1)
    .execute();
  const page = paged(rows, limit);
  const userIds = page.data.map((r) => r.user_id);
  const scim = new Map<
    string,
    { directory_id: string; user_name: string; external_id: string | null; active: boolean }
  >();
  const sso = new Map<string, { connection_id: string; last_sign_in_at: string }>();
  const last = new Map<string, { at: string; method: string }>();
  if (userIds.length) {
    const scimRows = await db
      .selectFrom('scim_users')
      .innerJoin('scim_directories', 'scim_directories.id', 'scim_users.directory_id')
      .select([
        'scim_users.user_id',
        'scim_users.directory_id',
        'scim_users.user_name',
        'scim_users.external_id',
        'scim_users.active',
      ])
      .where('scim_users.org_id', '=', orgId)
      .where('scim_directories.status', '=', 'active')
      .where('scim_users.user_id', 'in', userIds)
      .execute();
    for (const r of scimRows)
      if (r.user_id !== null)
        scim.set(r.user_id, {
          directory_id: r.directory_id,
          user_name: r.user_name,
          external_id: r.external_id,
          active: Number(r.active) === 1,
        });
    const ssoRows = await db
      .selectFrom('sso_logins')
      .select(['user_id', 'connection_id', (eb) => eb.fn.max('occurred_at').as('at')])
      .where('org_id', '=', orgId)
      .where('purpose', '=', 'login')
      .where('user_id', 'in', userIds)
      .groupBy(['user_id', 'connection_id'])
      .execute();
    for (const r of ssoRows) {
      const prev = sso.get(r.user_id);
      if (!prev || String(r.at) > prev.last_sign_in_at)
        sso.set(r.user_id, { connection_id: r.connection_id, last_sign_in_at: String(r.at) });
    }
    const sessionRows = await db
      .selectFrom('sessions')
      .select(['user_id', 'created_at', 'auth_method'])
      .where('user_id', 'in', userIds)
      .orderBy('created_at', 'desc')
      .execute();
    for (const r of sessionRows)
      if (!last.has(r.user_id)) last.set(r.user_id, { at: r.created_at, method: r.auth_method });
  }
  return {
    ...page,
    data: page.data.map((r): DirectoryUserView => ({
      id: r.user_id,
      membership_id: r.id,
      email_address: r.email,
      full_name: r.display_name,
      role: r.role,
      status: r.status,
      source: scim.has(r.user_id) ? 'scim' : sso.has(r.user_id) ? 'sso' : 'manual',
      scim: scim.get(r.user_id) ?? null,
      sso: sso.get(r.user_id) ?? null,
      last_sign_in_at: last.get(r.user_id)?.at ?? null,
      last_sign_in_method: last.get(r.user_id)?.method ?? null,
      email_verified: r.email_verified_at !== null,
      created_at: r.created_at,
    })),
  };
}

export const GroupView = Type.Object({
  id: Type.String(),
  display_name: Type.String(),
  directory_id: Type.String(),
  external_id: Type.Union([Type.String(), Type.Null()]),
  member_count: Type.Integer(),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export async function listOrganizationGroups(call: ComplianceCall, orgId: string, query: DirectoryPageQuery) {
  assertOrgVisible(call, orgId);
  const { db } = call.ctx;
  const limit = query.limit ?? DEFAULT_LIMIT;
  const after = afterOf(query);
  let q = db
    .selectFrom('scim_groups')
    .innerJoin('scim_directories', 'scim_directories.id', 'scim_groups.directory_id')
    .select([
      'scim_groups.id',
      'scim_groups.display_name',
      'scim_groups.directory_id',
      'scim_groups.external_id',
      'scim_groups.created_at',
      'scim_groups.updated_at',
    ])
    .select((eb) =>
      eb
        .selectFrom('scim_group_members')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('scim_group_members.group_id', '=', 'scim_groups.id')
        .as('member_count'),
    )
    .where('scim_groups.org_id', '=', orgId)
    .where('scim_directories.status', '=', 'active');
  if (after) q = q.where('scim_groups.id', '>', after);
  const rows = await q
    .orderBy('scim_groups.id')
    .limit(limit + 1)
    .execute();
  const page = paged(rows, limit);
  return {
    ...page,
    data: page.data.map((g) => ({
      id: g.id,
      display_name: g.display_name,
      directory_id: g.directory_id,
      external_id: g.external_id,
      member_count: Number(g.member_count ?? 0),
      created_at: g.created_at,
      updated_at: g.updated_at,
    })),
  };
}

export const GroupMemberView = Type.Object({
  id: Type.String({ description: 'The user id (usr_…).' }),
  email_address: Type.String(),
  scim_user_name: Type.String(),
});

export async function listGroupMembers(
  call: ComplianceCall,
  orgId: string,
  groupId: string,
  query: DirectoryPageQuery,
) {
  assertOrgVisible(call, orgId);
  const { db } = call.ctx;
  const group = await db
    .selectFrom('scim_groups')
    .select('id')
    .where('id', '=', groupId)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!group)
    throw complianceError(
      'not_found',
      'No group with that id exists in this organization, or this compliance key may not see it. Check the id.',
    );
  const limit = query.limit ?? DEFAULT_LIMIT;
  const after = afterOf(query);
  let q = db
    .selectFrom('scim_group_members')
    .innerJoin('scim_users', 'scim_users.id', 'scim_group_members.scim_user_id')
    .innerJoin('users', 'users.id', 'scim_users.user_id')
    .select(['users.id', 'users.email', 'scim_users.user_name'])
    .where('scim_group_members.group_id', '=', groupId);
  if (after) q = q.where('users.id', '>', after);
  const rows = await q
    .orderBy('users.id')
    .limit(limit + 1)
    .execute();
  const page = paged(rows, limit);
  return { ...page, data: page.data.map((m) => ({ id: m.id, email_address: m.email, scim_user_name: m.user_name })) };
}

export const RoleView = Type.Object({
  id: Type.String(),
  permissions: Type.Array(Type.String()),
  inherited_by_child_organizations: Type.Boolean(),
});

/** The roles and what each may do, from the one permission matrix (src/orgs/permissions.ts). */
export function listRoles(): { data: Static<typeof RoleView>[] } {
  return {
    data: ROLES.map((role: Role) => ({
      id: role,
      permissions: (Object.keys(PERMISSIONS) as Permission[])
        .filter((p) => (PERMISSIONS[p] as readonly Role[]).includes(role))
        .sort(),
      inherited_by_child_organizations: INHERITED_ROLES.includes(role),
    })),
  };
}
