import type { AuditActionCatalog } from '../audit/action-spec.js';

/** Encryption keys. See src/audit/action-spec.ts for the fields. */
export const CRYPTO_AUDIT_ACTIONS = {
  'encryption.data_key_rotated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "The organization's data key was rotated; new content is sealed under the new version.",
  },
  'encryption.keys_shredded': {
    ocsf: 'API Activity: Delete',
    security: true,
    description:
      'Content keys were destroyed, making the content they sealed unreadable everywhere (crypto-shredding).',
  },
} as const satisfies AuditActionCatalog;
