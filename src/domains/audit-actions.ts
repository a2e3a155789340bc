import type { AuditActionCatalog } from '../audit/action-spec.js';

/** Verified domains. See src/audit/action-spec.ts for the fields. */
export const DOMAINS_AUDIT_ACTIONS = {
  'domain.added': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A domain was claimed; it is pending until its DNS record is found.',
  },
  'domain.updated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "A domain's settings (auto-join, subdomains) changed.",
  },
  'domain.removed': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A domain was removed by its organization.',
  },
  'domain.released': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A domain was released so another organization can verify it.',
  },
  'domain.verified': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'The DNS record was found: the domain is verified.',
  },
  'domain.verification_failed': {
    ocsf: 'API Activity: Update',
    security: false,
    description: 'A check of a pending domain did not find the record, with the diagnosis code.',
  },
  'domain.verification_conflict': {
    ocsf: 'API Activity: Other',
    security: true,
    description: 'The record is correct but another organization holds the domain (outcome denied).',
  },
  'domain.failing': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "A verified domain's record is gone; it stays verified until the grace period ends.",
    formerly: ['domain.verification_failing'],
  },
  'domain.recovered': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "A failing domain's record is back within the grace period.",
  },
  'domain.expired': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'A failing domain stayed failing past its grace period and is no longer verified.',
  },
} as const satisfies AuditActionCatalog;
