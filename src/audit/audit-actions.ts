import type { AuditActionCatalog } from './action-spec.js';

/** The audit trail itself. See src/audit/action-spec.ts for the fields. */
export const AUDIT_AUDIT_ACTIONS = {
  'audit.exported': {
    ocsf: 'API Activity: Read',
    security: true,
    description: 'The audit log was exported (format, filters, up to which sequence number).',
  },
  'audit.retention_changed': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'How long audit events are kept changed.',
  },
  'audit.purged': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'Audit retention removed events older than the retention period; the chain is anchored at the cut.',
  },
  'audit.content_tier_changed': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'How much content audit events may carry (metadata only, or excerpts) changed.',
  },
} as const satisfies AuditActionCatalog;
