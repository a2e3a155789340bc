import type { AuditActionCatalog } from '../audit/action-spec.js';

/** The model gateway. See src/audit/action-spec.ts for the fields. */
export const GATEWAY_AUDIT_ACTIONS = {
  'gateway.request_handled': {
    ocsf: 'API Activity: Other',
    security: false,
    description:
      'One model request through the gateway: model, sizes, tokens, upstream status (denied when the model is not allowed); never prompt text unless the content tier allows an excerpt.',
    formerly: ['gateway.request'],
  },
  'gateway.upstream_configured': {
    ocsf: 'API Activity: Create',
    security: true,
    description: "The gateway's upstream provider or allowed models were set (never the provider key).",
  },
  'gateway_key.created': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A gateway key was created for a member (never the secret).',
  },
  'gateway_key.revoked': { ocsf: 'API Activity: Delete', security: true, description: 'A gateway key was revoked.' },
} as const satisfies AuditActionCatalog;
