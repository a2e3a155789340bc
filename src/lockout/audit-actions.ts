import type { AuditActionCatalog } from '../audit/action-spec.js';

/** The lockout guard. See src/audit/action-spec.ts for the fields. */
export const LOCKOUT_AUDIT_ACTIONS = {
  'lockout_warning.acknowledged': {
    ocsf: 'API Activity: Other',
    security: true,
    description:
      'A change was applied although it would stop listed people from signing in; the warnings acknowledged.',
  },
  'lockout_warning.recorded': {
    ocsf: 'API Activity: Other',
    security: true,
    description:
      'A change made by Palisade itself (e.g. a domain expiring) stops listed people from signing in (outcome failure).',
  },
} as const satisfies AuditActionCatalog;
