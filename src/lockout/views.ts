import { Type, type Static } from '@sinclair/typebox';
import type { LockoutImpact } from './guard.js';

/** What the lockout guard found, as every guarded change returns it (and as a refusal's details carry it). */
const Role = Type.Union([Type.Literal('primary_owner'), Type.Literal('admin'), Type.Literal('member'), Type.Null()]);

export const LockoutWarningView = Type.Object({
  userId: Type.String(),
  email: Type.String(),
  source: Type.Union([Type.Literal('sso'), Type.Literal('scim'), Type.Literal('password')]),
  connectionId: Type.Union([Type.String(), Type.Null()]),
  directoryId: Type.Union([Type.String(), Type.Null()]),
  problem: Type.Union([Type.Literal('would_fail'), Type.Literal('would_lose_role')]),
  before: Role,
  after: Role,
  lastLoginAt: Type.Union([Type.String(), Type.Null()]),
  explanation: Type.String(),
});

export const LockoutNoteView = Type.Object({
  userId: Type.String(),
  email: Type.String(),
  connectionId: Type.Union([Type.String(), Type.Null()]),
  lastLoginAt: Type.Union([Type.String(), Type.Null()]),
  code: Type.String(),
  explanation: Type.String(),
});

export const ImpactFields = {
  warnings: Type.Array(LockoutWarningView, {
    description:
      'People the change takes sign-in access or a role away from (a change with warnings needs "acknowledgeWarnings": true).',
  }),
  degraded: Type.Array(LockoutNoteView, {
    description: 'People who lose one way in but keep another (a password where SSO is not enforced); not blocking.',
  }),
  preExisting: Type.Array(LockoutNoteView, {
    description: 'Sign-ins that already fail before the change, for reasons of their own; not blocking.',
  }),
  checked: Type.Object({ members: Type.Integer(), ssoSignIns: Type.Integer(), scimPeople: Type.Integer() }),
};

export const ImpactView = Type.Object(ImpactFields);
export type ImpactView = Static<typeof ImpactView>;

export const impactView = (impact: LockoutImpact): ImpactView => ({
  warnings: impact.warnings,
  degraded: impact.degraded,
  preExisting: impact.preExisting,
  checked: impact.checked,
});
