import { cachedLookup } from '../cache/hot-cache.js';
import type { CodeWithStatus } from '../error-catalog.js';
import type { Ctx } from '../context.js';
import type { Organization, Role } from '../db/schema.js';
import { PalisadeError, notFound, unauthenticated } from '../errors.js';
import { INHERITED_ROLES, PERMISSION_PURPOSE, type Permission, highestRole, roleAllows } from './permissions.js';
import { activeMembershipsIn, orgLineage } from './store.js';

export interface Authorized {
  org: Organization;
  /** The organization, then its ancestors (nearest first), as read for this check. */
  lineage: Organization[];
  /** The caller's effective role: direct, or inherited as admin/owner from a parent organization. */
  role: Role;
}

/** A caller's effective role in an organization, or undefined when they have none. */
export async function effectiveRole(
  ctx: Pick<Ctx, 'db'>,
  userId: string,
  lineage: Organization[],
): Promise<Role | undefined> {
  const memberships = await activeMembershipsIn(
    ctx.db,
    userId,
    lineage.map((o) => o.id),
  );
  const orgId = lineage[0]?.id;
  const roles = memberships.filter((m) => m.org_id === orgId || INHERITED_ROLES.includes(m.role)).map((m) => m.role);
  return highestRole(roles);
}

/**
 * The one authorization check: caller × permission × organization. An organization the caller has
 * no role in answers exactly like one that does not exist.
 */
export async function authorize(ctx: Ctx, orgId: string, permission: Permission): Promise<Authorized> {
  if (ctx.caller.kind === 'user') {
    // Every API request asks this first: a member's role in an organization comes from the
    // per-process cache (src/cache/hot-cache.ts), kept until an organization or this person's
    // memberships change (this process: at once; another instance: when its notification arrives).
    // Only a role is cached; the permission is checked afresh, and a refusal is decided below,
    // uncached, every time.
    const userId = ctx.caller.userId;
    const found = await cachedLookup(
      ctx.db,
      `org-role\n${userId}\n${orgId}`,
      () => roleIn(ctx, userId, orgId),
      ctx.meta,
      () => userId,
    );
    if (found) {
      if (!roleAllows(found.role, permission)) throw missingPermission(permission, found.role);
      return found;
    }
  }
  const lineage = await orgLineage(ctx.db, orgId);
  const org = lineage[0];
  if (ctx.caller.kind === 'system') {
    if (!org) throw notFound('organization');
    return { org, lineage, role: 'primary_owner' };
  }
  if (ctx.caller.kind !== 'user')
    throw unauthenticated(
      'authentication_required',
      'Sign in, or send a personal API token as "Authorization: Bearer pls_pat_…".',
    );
  if (!org) throw notFound('organization');
  const role = await effectiveRole(ctx, ctx.caller.userId, lineage);
  if (!role) {
    // The person knows the organization (they are its member): say why, rather than that it does not exist.
    if (await isSuspendedIn(ctx, ctx.caller.userId, org.id)) throw membershipSuspended();
    throw notFound('organization');
  }
  if (!roleAllows(role, permission)) throw missingPermission(permission, role);
  return { org, lineage, role };
}

/** The caller's organization, lineage and effective role, frozen (cached values are shared), or undefined when they have none. */
async function roleIn(ctx: Ctx, userId: string, orgId: string): Promise<Authorized | undefined> {
  const lineage = await orgLineage(ctx.db, orgId);
  if (!lineage[0]) return undefined;
  const role = await effectiveRole(ctx, userId, lineage);
  if (!role) return undefined;
  for (const org of lineage) Object.freeze(org);
  return Object.freeze({ org: lineage[0], lineage: Object.freeze(lineage) as Organization[], role });
}

async function isSuspendedIn(ctx: Ctx, userId: string, orgId: string): Promise<boolean> {
  const row = await ctx.db
    .selectFrom('memberships')
    .select('id')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .where('status', '=', 'suspended')
    .executeTakeFirst();
  return row !== undefined;
}

export const membershipSuspended = () =>
  new PalisadeError(
    403,
    'membership_suspended',
    'Your membership in this organization is suspended, so it grants nothing here until it is reactivated. Ask an administrator of the organization (if your identity provider deactivated you, it is reactivated there).',
  );

/** `missing_permission_<permission with _ for .>`: each is declared in src/orgs/error-codes.ts (a test checks every permission). */
export const missingPermissionCode = (permission: Permission) =>
  `missing_permission_${permission.replace(/\./g, '_')}` as CodeWithStatus<403>;

export function missingPermission(permission: Permission, role: Role): PalisadeError {
  return new PalisadeError(
    403,
    missingPermissionCode(permission),
    `This action requires ${PERMISSION_PURPOSE[permission]}; your role here is ${role}. Ask a primary owner if you need it.`,
    {
      details: { permission, yourRole: role },
    },
  );
}
