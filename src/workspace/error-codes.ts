import type { ErrorCodeCatalog } from '../errors.js';

/** The workspace: conversations, files, retention, network policy: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const WORKSPACE_ERROR_CODES = {
  allowlist_excludes_you: {
    status: 409,
    message:
      'This allowlist does not include your current address …: after saving, you could no longer use the workspace or gateway from here. Add it, or send "confirmExcludesMe": true. Settings stay reachable to admins from any address.',
  },
  file_required: { status: 400, message: 'The upload has no file part; send the file in a field named "file".' },
  file_too_large: {
    status: 413,
    message: 'Files are limited to … bytes (PALISADE_UPLOAD_MAX_BYTES); this one is larger.',
  },
  invalid_cidr: {
    status: 400,
    message: '"…" is not an IPv4 or IPv6 address or CIDR range; write it like 203.0.113.0/24 or 2001:db8::/32.',
  },
  ip_not_allowed: {
    status: 403,
    message:
      'This organization accepts workspace and gateway requests only from its IP allowlist, and this request came from …. Connect from an allowed network, or ask an admin to add this address.',
  },
  legal_hold_active: {
    status: 409,
    message:
      'This … is under a legal hold and cannot be deleted until an admin lifts the hold. It stays readable to you meanwhile.',
  },
  multipart_required: {
    status: 415,
    message: 'Upload files as multipart/form-data with the file in a field named "file".',
  },
  retention_change_needs_confirmation: {
    status: 409,
    message:
      'Shortening retention from … to … days will delete … conversation(s) (… message(s)) and … file(s) at the next purge. Send the same request with "confirm": true to proceed.',
  },
  zero_retention_no_files: {
    status: 409,
    message:
      'This organization keeps no workspace content (retention 0), so uploaded files cannot be stored. Paste the text into your message instead, or ask an admin about the retention policy.',
  },
} as const satisfies ErrorCodeCatalog;
