import type { AuditActionCatalog } from '../audit/action-spec.js';

/** Organizations, members and roles (recorded by the operations in src/membership/). See src/audit/action-spec.ts for the fields. */
export const ORGS_AUDIT_ACTIONS = {
  'org.created': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'An organization was created with its first owner.',
  },
  'org.updated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "An organization's settings (name, sign-in policy, allowlists) changed; metadata lists the fields.",
  },
  'org.billing_updated': { ocsf: 'API Activity: Update', security: false, description: 'The billing contact changed.' },
  'org.deleted': { ocsf: 'API Activity: Delete', security: true, description: 'An organization was deleted.' },
  'org.child_created': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A child organization was created under this one.',
  },
  'org.child_deleted': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A child organization was deleted.',
  },
  'member.invited': {
    ocsf: 'Account Change: Create',
    security: true,
    description: 'Someone was invited as a member, with a role.',
  },
  'member.joined': {
    ocsf: 'Account Change: Create',
    security: true,
    description: 'An invitation was accepted (or a member joined through SSO or a link).',
  },
  'member.auto_joined': {
    ocsf: 'Account Change: Create',
    security: true,
    description: 'An account joined automatically because its address is in a verified domain with auto-join.',
  },
  'member.invitation_declined': {
    ocsf: 'Account Change: Other',
    security: false,
    description: 'An invitation was declined.',
  },
  'member.role_changed': {
    ocsf: 'Account Change: Attach Policy',
    security: true,
    description: "A member's role changed (from and to in metadata).",
  },
  'member.removed': {
    ocsf: 'Account Change: Delete',
    security: true,
    description: 'A member was removed; their sessions in the organization end.',
  },
  'member.suspended': {
    ocsf: 'Account Change: Disable',
    security: true,
    description:
      "An admin suspended a member: the membership keeps its role and grants nothing in this organization until reactivated (the person's other organizations are untouched).",
  },
  'member.reactivated': {
    ocsf: 'Account Change: Enable',
    security: true,
    description:
      'A suspended member was reactivated by an admin (their own suspension, or one whose SCIM directory was deleted).',
  },
  'role_mapping.updated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'The mapping from IdP groups to roles changed; lockout warnings acknowledged are in metadata.',
  },
} as const satisfies AuditActionCatalog;
