import type { Queryable, Role } from '../db/schema.js';
import { type RoleMapping, loadRoleMapping } from '../orgs/role-mapping.js';
import type { MatchedUser } from '../sso/account-match.js';
import type { ConnectionRow } from '../sso/connections.js';
import { recentCutoff } from '../sso/store.js';
import type { SsoLoginsTable } from '../sso/tables.js';

/**
 * Everything that decides who in an organization can sign in and with which role, read in bulk
 * (a fixed number of queries, whatever the organization's size): the lockout guard reads it once
 * before a change and once after it, in the change's transaction, and compares.
 */
export interface Member {
  userId: string;
  membershipId: string;
  role: Role;
  email: string;
  userStatus: MatchedUser['status'];
  hasPassword: boolean;
}

export interface ScimPerson {
  userId: string;
  directoryId: string;
  directoryName: string;
  groups: string[];
}

export interface AccessWorld {
  orgId: string;
  connections: Map<string, ConnectionRow>;
  enforcedConnectionId: string | null;
  mapping: RoleMapping;
  /** Active members of the organization, by user id. */
  members: Map<string, Member>;
  /** The latest recent sign-in of each member through each of the organization's connections. */
  logins: SsoLoginsTable[];
  /** `connectionId|subject` → user id, and `connectionId|userId` → subject: the stable-subject links. */
  linkedUser: Map<string, string>;
  linkedSubject: Map<string, string>;
  /** Members who also belong to another organization (an IdP does not sign such accounts in). */
  memberElsewhere: Set<string>;
  /** Members with an active membership in an organization that enforces SSO (here or elsewhere): no password sign-in. */
  ssoRequired: Set<string>;
  /** Members who can break glass (a primary owner somewhere, with a password and a confirmed authenticator). */
  breakGlass: Set<string>;
  /** Members whose role a SCIM directory with group-driven roles derives from their groups. */
  scim: ScimPerson[];
  activeOwners: number;
}

/**
 * `reuse.logins`: the login records read before the change. They are append-only and no guarded change
 * writes them, so the reading after the change takes them as they are instead of reading them again
 * (the largest read by far: one row per person and connection, with the claims the IdP sent).
 */
export async function loadAccessWorld(
  db: Queryable,
  orgId: string,
  now: Date,
  reuse?: { logins: SsoLoginsTable[] },
): Promise<AccessWorld> {
  const connections = await db.selectFrom('sso_connections').selectAll().where('org_id', '=', orgId).execute();
  const enforcement = await db
    .selectFrom('sso_enforcement')
    .select('connection_id')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  const mapping = await loadRoleMapping(db, orgId);
  const memberRows = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select((eb) => [
      'memberships.id',
      'memberships.user_id',
      'memberships.role',
      'users.email',
      'users.status',
      eb('users.password_hash', 'is not', null).as('has_password'),
    ])
    .where('memberships.org_id', '=', orgId)
    .where('memberships.status', '=', 'active')
    .execute();
  const members = new Map<string, Member>();
  for (const m of memberRows)
    members.set(m.user_id, {
      userId: m.user_id,
      membershipId: m.id,
      role: m.role,
      email: m.email,
      userStatus: m.status,
      hasPassword: Boolean(m.has_password),
    });

  // The latest record per (connection, person): login ids are time-ordered (monotonic ULIDs).
  const latest = db
    .selectFrom('sso_logins')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('org_id', '=', orgId)
    .where('occurred_at', '>=', recentCutoff(now))
    .groupBy(['connection_id', 'user_id']);
  const logins = (
    reuse?.logins ?? (await db.selectFrom('sso_logins').selectAll().where('id', 'in', latest).execute())
  ).filter((l) => members.has(l.user_id));

  const linkedUser = new Map<string, string>();
  const linkedSubject = new Map<string, string>();
  for (const l of await db
    .selectFrom('sso_identities')
    .select(['connection_id', 'subject', 'user_id'])
    .where('org_id', '=', orgId)
    .execute()) {
    linkedUser.set(`${l.connection_id}|${l.subject}`, l.user_id);
    linkedSubject.set(`${l.connection_id}|${l.user_id}`, l.subject);
  }

  const elsewhere = await db
    .selectFrom('memberships as here')
    .innerJoin('memberships as other', (j) =>
      j.onRef('other.user_id', '=', 'here.user_id').onRef('other.org_id', '!=', 'here.org_id'),
    )
    .select('here.user_id')
    .distinct()
    .where('here.org_id', '=', orgId)
    .where('here.status', '=', 'active')
    .execute();
  const required = await db
    .selectFrom('memberships as here')
    .innerJoin('memberships as any', (j) => j.onRef('any.user_id', '=', 'here.user_id').on('any.status', '=', 'active'))
    .innerJoin('sso_enforcement', 'sso_enforcement.org_id', 'any.org_id')
    .select('here.user_id')
    .distinct()
    .where('here.org_id', '=', orgId)
    .where('here.status', '=', 'active')
    .execute();
  const glass = await db
    .selectFrom('memberships as here')
    .innerJoin('memberships as owned', (j) =>
      j
        .onRef('owned.user_id', '=', 'here.user_id')
        .on('owned.status', '=', 'active')
        .on('owned.role', '=', 'primary_owner'),
    )
    .innerJoin('user_totp', 'user_totp.user_id', 'here.user_id')
    .innerJoin('users', 'users.id', 'here.user_id')
    .select('here.user_id')
    .distinct()
    .where('here.org_id', '=', orgId)
    .where('here.status', '=', 'active')
    .where('user_totp.confirmed_at', 'is not', null)
    .where('users.password_hash', 'is not', null)
    .execute();

  const directories = await db
    .selectFrom('scim_directories')
    .select(['id', 'name'])
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .where('role_sync', '=', 1)
    .execute();
  const scim: ScimPerson[] = [];
  if (directories.length) {
    const dirIds = directories.map((d) => d.id);
    const names = new Map(directories.map((d) => [d.id, d.name]));
    // In apply-roles' order, which decides which owner is the last one kept.
    const scimUsers = await db
      .selectFrom('scim_users')
      .select(['id', 'user_id', 'directory_id'])
      .where('directory_id', 'in', dirIds)
      .where('active', '=', 1)
      .orderBy('directory_id')
      .orderBy('user_name_key')
      .execute();
    const groups = new Map<string, string[]>();
    const links = await db
      .selectFrom('scim_group_members')
      .innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id')
      .select(['scim_group_members.scim_user_id', 'scim_groups.display_name'])
      .where('scim_group_members.directory_id', 'in', dirIds)
      .execute();
    for (const l of links) {
      const list = groups.get(l.scim_user_id);
      if (list) list.push(l.display_name);
      else groups.set(l.scim_user_id, [l.display_name]);
    }
    for (const su of scimUsers)
      if (su.user_id !== null && members.has(su.user_id))
        scim.push({
          userId: su.user_id,
          directoryId: su.directory_id,
          directoryName: names.get(su.directory_id) ?? su.directory_id,
          groups: groups.get(su.id) ?? [],
        });
  }

  return {
    orgId,
    connections: new Map(connections.map((c) => [c.id, c])),
    enforcedConnectionId: enforcement?.connection_id ?? null,
    mapping,
    members,
    logins,
    linkedUser,
    linkedSubject,
    memberElsewhere: new Set(elsewhere.map((r) => r.user_id)),
    ssoRequired: new Set(required.map((r) => r.user_id)),
    breakGlass: new Set(glass.map((r) => r.user_id)),
    scim,
    activeOwners: [...members.values()].filter((m) => m.role === 'primary_owner').length,
  };
}
