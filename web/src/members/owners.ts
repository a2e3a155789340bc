import type { Ok } from '../api/client';

export type Member = Ok<'listMembers'>['data'][number];
export type Role = Member['role'];

export const ROLES: { value: Role; label: string; description: string }[] = [
  { value: 'member', label: 'Member', description: 'Uses the workspace.' },
  { value: 'admin', label: 'Admin', description: 'Manages members, domains, SSO, SCIM, audit and settings.' },
  {
    value: 'primary_owner',
    label: 'Primary owner',
    description: 'Everything an admin can, plus owners, billing and deleting the organization.',
  },
];
export const roleName = (r: Role) => ROLES.find((x) => x.value === r)?.label ?? r;

/** Past this many primary owners (active or invited) the API warns; the console warns before. Same as src/membership/members.ts. */
export const OWNER_WARNING_THRESHOLD = 2;

/**
 * The owner rules the API enforces (src/membership/members.ts), worked out ahead so the page can say why
 * an action is not offered instead of letting the person run into a 409.
 */
export function ownerRules(all: Member[]) {
  const activeOwners = all.filter((m) => m.role === 'primary_owner' && m.status === 'active');
  const ownersIncludingInvited = all.filter((m) => m.role === 'primary_owner' && m.status !== 'suspended');
  return {
    activeOwners,
    ownersIncludingInvited: ownersIncludingInvited.length,
    /** The last active primary owner cannot be demoted or removed. */
    isLastOwner: (m: Member) => m.role === 'primary_owner' && m.status === 'active' && activeOwners.length <= 1,
    /** Making m a primary owner would take the count past the threshold. */
    wouldWarn: (m: Member) => m.role !== 'primary_owner' && ownersIncludingInvited.length + 1 > OWNER_WARNING_THRESHOLD,
  };
}
