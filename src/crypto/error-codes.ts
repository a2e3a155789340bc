import type { ErrorCodeCatalog } from '../errors.js';

/** Encryption keys and sealed content: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const CRYPTO_ERROR_CODES = {
  confirmation_mismatch: {
    status: 400,
    message:
      'Crypto-shredding makes all of this organization\'s stored content unreadable forever. Send {"confirm": "<the organization id>"} to proceed.',
  },
  content_integrity_failed: {
    status: 500,
    message:
      'Stored content failed its integrity check (it was modified, moved or relabelled) and was not returned. Report this requestId to your administrator.',
  },
  content_shredded: {
    status: 410,
    message:
      "This conversation was encrypted with the organization's destroyed keys (crypto-shredded); start a new conversation.",
  },
} as const satisfies ErrorCodeCatalog;
