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
      '`suspended`: deactivated by a SCIM directory (the identity provider); the membership keeps its role and grants nothing until the person is reactivated there.',
  },
);

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
      directoryId: Type.Union([Type.String(), Type.Null()]),
      directoryName: Type.Union([Type.String(), Type.Null()], { description: 'null once the directory is deleted' }),
      liftedBy: Type.Union([Type.Literal('identity_provider'), Type.Literal('admin')], {
        description:
          '`identity_provider` while the suspending SCIM directory exists (reactivate the person there); `admin` once it is deleted (PATCH {"status":"active"}).',
      }),
    }),
  ),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type MemberView = Static<typeof MemberView>;

/** The suspending directory, when the caller looked it up: null when it no longer exists. */
export type SuspendingDirectory = { id: string; name: string } | null;

export function memberView(
  m: Membership,
  u: Pick<User, 'email' | 'display_name'>,
  suspendedBy?: SuspendingDirectory,
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
    view.suspension = {
      at: m.suspended_at ?? m.updated_at,
      directoryId: m.suspended_by_directory_id,
      directoryName: suspendedBy?.name ?? null,
      liftedBy: suspendedBy ? 'identity_provider' : 'admin',
    };
  }
  return view;
}

export const Warning = Type.Object({ code: Type.String(), message: Type.String() });
export type Warning = Static<typeof Warning>;
