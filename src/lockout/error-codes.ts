import type { ErrorCodeCatalog } from '../errors.js';

/** The lockout guard: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const LOCKOUT_ERROR_CODES = {
  sso_change_would_lock_out: {
    status: 409,
    message:
      'This change would take sign-in access or a role away from … …: ……. Fix the change, or repeat it with "acknowledgeWarnings": true (CLI: --acknowledge-warnings) to apply it anyway.',
  },
} as const satisfies ErrorCodeCatalog;
