import type { AuditActionCatalog } from '../audit/action-spec.js';

/** Single sign-on connections, enforcement and recovery. See src/audit/action-spec.ts for the fields. */
export const SSO_AUDIT_ACTIONS = {
  'sso.connection_created': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A SAML or OIDC connection was created (a draft until its IdP metadata arrives).',
  },
  'sso.connection_updated': {
    ocsf: 'API Activity: Update',
    security: true,
    description:
      "A connection's settings, claims or certificates changed; lockout warnings acknowledged are in metadata.",
  },
  'sso.connection_deleted': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A connection was deleted with its linked identities.',
  },
  'sso.enforcement_enabled': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "Single sign-on became required for the organization's members.",
  },
  'sso.enforcement_disabled': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'Single sign-on stopped being required.',
  },
  'sso.identity_unlinked': {
    ocsf: 'API Activity: Other',
    security: true,
    description: 'A linked IdP identity was removed from an account; the next sign-in links afresh.',
  },
  'sso.login_failed': {
    ocsf: 'Authentication: Logon',
    security: true,
    description: 'An SSO response was rejected, with the diagnosis code (signature, audience, clock, claims...).',
  },
  'sso.test_login_succeeded': {
    ocsf: 'API Activity: Other',
    security: false,
    description: "An administrator's test sign-in through a connection worked (nobody was signed in).",
  },
  'sso.metadata_refreshed': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "The IdP's metadata was fetched again and applied (new certificates or endpoints).",
  },
  'sso.metadata_refresh_failed': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "Fetching or applying the IdP's metadata failed; the previous settings stay.",
  },
  'sso.certificate_held': {
    ocsf: 'API Activity: Other',
    security: true,
    description: 'A signing certificate from refreshed metadata was held for review instead of trusted.',
  },
  'sso.certificate_released': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A held certificate was accepted or discarded by an administrator.',
  },
  'sso.recovery_link_issued': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A one-time recovery sign-in link was issued for a member while SSO is enforced.',
  },
  'sso.recovery_link_revoked': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'An unused recovery link was revoked.',
  },
  'sso.recovery_link_used': {
    ocsf: 'API Activity: Other',
    security: true,
    description: 'A recovery link was used to sign in.',
  },
} as const satisfies AuditActionCatalog;
