import type { AuditActionCatalog } from '../audit/action-spec.js';

/** SIEM destinations (audit streams). See src/audit/action-spec.ts for the fields. */
export const STREAMS_AUDIT_ACTIONS = {
  'stream.created': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A SIEM destination was created (kind, format, endpoint; credentials sealed, never logged).',
  },
  'stream.updated': { ocsf: 'API Activity: Update', security: true, description: "A destination's settings changed." },
  'stream.credentials_rotated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "A destination's credentials (token, key) were replaced.",
  },
  'stream.credentials_sealed': {
    ocsf: 'API Activity: Other',
    security: true,
    description: "A destination's stored credentials were re-sealed under a new data key version.",
  },
  'stream.paused': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'Delivery to a destination was paused; events wait in the audit log.',
  },
  'stream.resumed': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'Delivery to a paused destination resumed from its cursor.',
  },
  'stream.deleted': { ocsf: 'API Activity: Delete', security: true, description: 'A destination was deleted.' },
  'stream.tested': {
    ocsf: 'API Activity: Other',
    security: false,
    description: 'An administrator sent a test event to a destination; outcome and receiver status recorded.',
  },
  'stream.test_sent': {
    ocsf: 'API Activity: Other',
    security: false,
    synthetic: true,
    description:
      'The synthetic event a test sends to the destination (seq 0, zero hashes); it is never stored in the chain.',
    formerly: ['stream.test_event'],
  },
  'stream.retried': {
    ocsf: 'API Activity: Other',
    security: false,
    description: 'An administrator asked for dead-lettered events to be delivered again.',
  },
  'stream.delivery_failed': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'Delivery to a destination failed (first failure of an outage), with the error.',
  },
  'stream.circuit_opened': {
    ocsf: 'API Activity: Other',
    security: true,
    description: 'Delivery kept failing, so Palisade backs off before trying again.',
  },
  'stream.dead_lettered': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'Events the destination refused for good were set aside (dead-lettered).',
  },
  'stream.recovered': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'A failing destination accepted events again.',
  },
} as const satisfies AuditActionCatalog;
