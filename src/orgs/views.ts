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

export const MemberView = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  email: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  role: RoleSchema,
  status: Type.Union([Type.Literal('active'), Type.Literal('invited')]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type MemberView = Static<typeof MemberView>;

export function memberView(m: Membership, u: Pick<User, 'email' | 'display_name'>): MemberView {
  return { id: m.id, userId: m.user_id, email: u.email, displayName: u.display_name, role: m.role, status: m.status, createdAt: m.created_at, updatedAt: m.updated_at };
}

export const Warning = Type.Object({ code: Type.String(), message: Type.String() });
export type Warning = Static<typeof Warning>;
