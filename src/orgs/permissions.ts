import type { Role } from '../db/schema.js';

/**
 * The permission matrix, written once as data. Every route names one permission and goes through
 * `authorize()`; nothing else decides who may do what.
 */
export const PERMISSIONS = {
  'org.read': ['primary_owner', 'admin', 'member'],
  'org.update': ['primary_owner', 'admin'],
  'org.delete': ['primary_owner'],
  'org.billing.manage': ['primary_owner'],
  'org.children.create': ['primary_owner', 'admin'],
  'members.read': ['primary_owner', 'admin'],
  'members.manage': ['primary_owner', 'admin'],
  'owners.manage': ['primary_owner'],
  'audit.read': ['primary_owner', 'admin'],
  'audit.manage': ['primary_owner', 'admin'],
  'workspace.use': ['primary_owner', 'admin', 'member'],
  'domains.read': ['primary_owner', 'admin'],
  'domains.manage': ['primary_owner', 'admin'],
  'scim.manage': ['primary_owner', 'admin'],
  'sso.manage': ['primary_owner', 'admin'],
  'sso.recovery': ['primary_owner'],
  'compliance.keys.manage': ['primary_owner'],
  'audit.content.manage': ['primary_owner'],
  'github.manage': ['primary_owner', 'admin'],
  'github.use': ['primary_owner', 'admin', 'member'],
  'notifications.manage': ['primary_owner', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

/** Plain-words description used in refusals: "… requires <description>". */
export const PERMISSION_PURPOSE: Record<Permission, string> = {
  'org.read': 'membership of the organization',
  'org.update': 'an admin or primary owner to change organization settings',
  'org.delete': 'a primary owner to delete an organization',
  'org.billing.manage': 'a primary owner to change billing settings',
  'org.children.create': 'an admin or primary owner to create child organizations',
  'members.read': 'an admin or primary owner to see the member list',
  'members.manage': 'an admin or primary owner to invite, change or remove members',
  'owners.manage': 'a primary owner to add, demote or remove primary owners',
  'audit.read': 'an admin or primary owner to read the audit log',
  'audit.manage': 'an admin or primary owner to change audit retention and SIEM streams',
  'workspace.use': 'membership of the organization',
  'domains.read': 'an admin or primary owner to see domains and their verification state',
  'domains.manage': 'an admin or primary owner to add, verify or remove domains',
  'scim.manage': 'an admin or primary owner to manage SCIM provisioning directories and read their sync log',
  'sso.manage': 'an admin or primary owner to manage single sign-on',
  'sso.recovery': 'a primary owner to let a member in without single sign-on (a recovery link)',
  'compliance.keys.manage':
    'a primary owner of the top-level organization to create, list or revoke Compliance API keys',
  'audit.content.manage': 'a primary owner to choose whether audit events of prompts carry prompt excerpts',
  'github.manage':
    'an admin or primary owner to connect GitHub, allowlist repositories, set deny rules and handle findings',
  'github.use': 'membership of the organization',
  'notifications.manage':
    'an admin or primary owner to manage notification channels and routing and to read notification history',
};

export const ROLE_RANK: Record<Role, number> = { member: 1, admin: 2, primary_owner: 3 };

export function roleAllows(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}

/** Roles a parent organization's membership carries into its children: administration, not membership. */
export const INHERITED_ROLES: readonly Role[] = ['primary_owner', 'admin'];

export function highestRole(roles: Role[]): Role | undefined {
  return roles.reduce<Role | undefined>(
    (best, r) => (best === undefined || ROLE_RANK[r] > ROLE_RANK[best] ? r : best),
    undefined,
  );
}
