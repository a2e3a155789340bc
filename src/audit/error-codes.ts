import type { ErrorCodeCatalog } from '../errors.js';

/** The audit log: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const AUDIT_ERROR_CODES = {
  audit_signing_key_unreadable: {
    status: 500,
    message:
      'The audit checkpoint signing key … cannot be opened with the configured master key (it was modified, or its key-encryption key is gone). Run `palisade audit rotate-key` to retire it and sign with a new key; old checkpoints stay verifiable with the published public key.',
  },
  content_tier_required: {
    status: 400,
    message:
      'Send "promptExcerptChars": null for metadata only, a number of characters (1–1000) for prompt excerpts, or "inherit": true to follow the parent organization.',
  },
  invalid_action_filter: {
    status: 400,
    message: 'An action filter is a dotted name such as member.role_changed, or a prefix such as member.*',
  },
  invalid_retention: { status: 400, message: 'retentionDays is a whole number of days (at least 1) or "forever".' },
  signing_key_from_file: {
    status: 409,
    message:
      'Checkpoints are signed with PALISADE_AUDIT_SIGNING_KEY_FILE: rotate by pointing it at a new Ed25519 key file (the old public key stays published).',
  },
} as const satisfies ErrorCodeCatalog;
