import type { ErrorCodeCatalog } from '../errors.js';

/** Accounts: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const USERS_ERROR_CODES = {
  invalid_email: { status: 400, message: '"…" is not an email address; use the form name@example.com.' },
} as const satisfies ErrorCodeCatalog;
