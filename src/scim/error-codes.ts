import type { ErrorCodeCatalog } from '../errors.js';

/** SCIM directory administration: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const SCIM_ERROR_CODES = {
  role_sync_off: {
    status: 409,
    message:
      'Group-driven roles are off for this directory. Preview with POST …/role-preview, then turn them on with PATCH {"roleSync": true}, which applies them.',
  },
} as const satisfies ErrorCodeCatalog;
