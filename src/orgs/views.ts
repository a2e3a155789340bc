import { Type, type Static } from '@sinclair/typebox';
import type { Membership, Organization, Role, User } from '../db/schema.js';
import { roleAllows } from './permissions.js';

export const RoleSchema = Type.Union([Type.Literal('primary_owner'), Type.Literal('admin'), Type.Literal('member')]);

export const OrganizationView = Type.Object({
  id: Type.String(),
  parentId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  billingEmail: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  yourRole: Type.Optional(RoleSchema),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type OrganizationView = Static<typeof OrganizationView>;

export function organizationView(org: Organization, role?: Role): OrganizationView {
  return {
    id: org.id,
    parentId: org.parent_id,
    name: org.name,
    // Billing contact is shown to those who may see the member list (admins and owners).
    ...(role === undefined || roleAllows(role, 'members.read') ? { billingEmail: org.billing_email } : {}),
    ...(role ? { yourRole: role } : {}),
    createdAt: org.created_at,
    updatedAt: org.updated_at,
  };
}

export const MemberStatusSchema = Type.Union(
  [Type.Literal('active'), Type.Literal('invited'), Type.Literal('suspended')],
  {
    description:
      '`suspended`: by an admin (POST …/suspend) or by a SCIM directory (deactivated in the identity provider); the membership keeps its role and grants nothing until it is reactivated.',
  },
);

export const SuspendedBy = Type.Union(
  [
    Type.Object({
      kind: Type.Literal('admin'),
      userId: Type.String(),
      email: Type.Union([Type.String(), Type.Null()], { description: 'null once that account is gone' }),
    }),
    Type.Object({
      kind: Type.Literal('scim'),
      directoryId: Type.String(),
      directoryName: Type.Union([Type.String(), Type.Null()], { description: 'null once the directory is deleted' }),
    }),
  ],
  { description: 'Who holds the suspension: an admin (lifted with POST …/reactivate) or a SCIM directory.' },
);
export type SuspendedBy = Static<typeof SuspendedBy>;

export const MemberView = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  email: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  role: RoleSchema,
  status: MemberStatusSchema,
  suspension: Type.Optional(
    Type.Object({
      at: Type.String(),
      directoryId: Type.Union([Type.String(), Type.Null()], {
        description: 'The SCIM directory that suspended the member; null when an admin did alone.',
      }),
      directoryName: Type.Union([Type.String(), Type.Null()], { description: 'null once the directory is deleted' }),
      liftedBy: Type.Union([Type.Literal('identity_provider'), Type.Literal('admin')], {
        description:
          '`identity_provider` while the suspending SCIM directory exists (reactivate the person there); `admin` when an admin suspended them or the directory is deleted (POST …/reactivate).',
      }),
      suspendedBy: Type.Array(SuspendedBy, {
        description:
          'Everyone holding the suspension, each of whom must lift their part: an admin, a SCIM directory, or both (an admin suspended the person and the identity provider then deactivated them).',
      }),
    }),
  ),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type MemberView = Static<typeof MemberView>;

/** The suspending directory, when the caller looked it up: null when it no longer exists. */
export type SuspendingDirectory = { id: string; name: string } | null;

/** What memberView needs beyond the row to describe a suspension. */
export interface SuspensionFacts {
  /** The suspending SCIM directory if it still exists (null: deleted, or none). */
  directory?: SuspendingDirectory;
  /** The address of the admin who suspended the member, when they were looked up. */
  suspenderEmail?: string | null;
}

export function memberView(
  m: Membership,
  u: Pick<User, 'email' | 'display_name'>,
  facts: SuspensionFacts = {},
): MemberView {
  const view: MemberView = {
    id: m.id,
    userId: m.user_id,
    email: u.email,
    displayName: u.display_name,
    role: m.role,
    status: m.status,
    createdAt: m.created_at,
    updatedAt: m.updated_at,
  };
  if (m.status === 'suspended') {
    const dir = facts.directory ?? null;
    const by: SuspendedBy[] = [];
    if (m.suspended_by_user_id)
      by.push({ kind: 'admin', userId: m.suspended_by_user_id, email: facts.suspenderEmail ?? null });
    if (m.suspended_by_directory_id)
      by.push({ kind: 'scim', directoryId: m.suspended_by_directory_id, directoryName: dir?.name ?? null });
    view.suspension = {
      at: m.suspended_at ?? m.updated_at,
      directoryId: m.suspended_by_directory_id,
      directoryName: dir?.name ?? null,
      liftedBy: dir ? 'identity_provider' : 'admin',
      suspendedBy: by,
    };
  }
  return view;
}

export const Warning = Type.Object({ code: Type.String(), message: Type.String() });
export type Warning = Static<typeof Warning>;
