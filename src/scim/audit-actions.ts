import type { AuditActionCatalog } from '../audit/action-spec.js';

/** SCIM directories and what they do to people. See src/audit/action-spec.ts for the fields. */
export const SCIM_AUDIT_ACTIONS = {
  'scim.directory_created': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A SCIM directory was created with its first token (never the secret).',
  },
  'scim.directory_updated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "A directory's settings (deprovisioning, group roles) changed.",
  },
  'scim.directory_deleted': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A directory was deleted; its token stops working.',
  },
  'scim.token_rotated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "A directory's bearer token was replaced.",
  },
  'scim.member_provisioned': {
    ocsf: 'Account Change: Create',
    security: true,
    description: 'The identity provider provisioned a person as a member.',
  },
  'scim.member_activated': {
    ocsf: 'Account Change: Enable',
    security: true,
    description: 'A provisioned member became active.',
  },
  'scim.user_reactivated': {
    ocsf: 'Account Change: Enable',
    security: true,
    description: 'The identity provider reactivated a suspended member.',
  },
  'scim.user_deactivated': {
    ocsf: 'Account Change: Disable',
    security: true,
    description: 'The identity provider deactivated a member (suspended, sessions ended).',
  },
  'scim.user_deleted': {
    ocsf: 'Account Change: Delete',
    security: true,
    description: 'The identity provider deleted a member.',
  },
  'scim.user_refused': {
    ocsf: 'Account Change: Other',
    security: true,
    description: 'A SCIM request about a user was refused, with the error code as reason.',
  },
  'scim.deprovision_refused': {
    ocsf: 'Account Change: Other',
    security: true,
    description: 'Deprovisioning was refused (it would remove the last owner, or the account is managed elsewhere).',
  },
  'scim.role_change_refused': {
    ocsf: 'Account Change: Other',
    security: true,
    description: 'A role change from group membership was refused (e.g. the last owner).',
  },
} as const satisfies AuditActionCatalog;
