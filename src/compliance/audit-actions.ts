import type { AuditActionCatalog } from '../audit/action-spec.js';

/** Audit actions the Compliance API writes. See src/audit/action-spec.ts for the fields. */
export const COMPLIANCE_AUDIT_ACTIONS = {
  'compliance_key.created': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A primary owner created a compliance key (name, scopes, organizations, expiry; never the secret).',
  },
  'compliance_key.used': {
    ocsf: 'API Activity: Other',
    security: false,
    description:
      'One Compliance API request: the scope it used, the method and route; denied when the key lacked the scope.',
  },
  'compliance_key.revoked': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A compliance key was revoked; it stops working at once.',
  },
  'compliance.content_read': {
    ocsf: 'API Activity: Read',
    security: true,
    description:
      'Content (titles, messages, file names or bytes) was read through the Compliance API: which key, what, whose, how much.',
  },
  'compliance.content_deleted': {
    ocsf: 'API Activity: Delete',
    security: true,
    description:
      'A conversation or file was deleted through the Compliance API; denied (reason legal_hold) while a legal hold covers it.',
  },
  'compliance.user_exported': {
    ocsf: 'API Activity: Read',
    security: true,
    description: 'Everything held about one person was exported (data-subject access request), with counts.',
  },
} as const satisfies AuditActionCatalog;

export type ComplianceAuditAction = keyof typeof COMPLIANCE_AUDIT_ACTIONS;
