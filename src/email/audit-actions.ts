import type { AuditActionCatalog } from '../audit/action-spec.js';

/** Outgoing email. See src/audit/action-spec.ts for the fields. */
export const EMAIL_AUDIT_ACTIONS = {
  'email.retried': {
    ocsf: 'API Activity: Other',
    security: false,
    description: 'An administrator asked for a failed email to be sent again (template, attempts, last error).',
  },
} as const satisfies AuditActionCatalog;
