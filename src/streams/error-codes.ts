import type { ErrorCodeCatalog } from '../errors.js';

/** SIEM destinations (audit streams): each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const STREAMS_ERROR_CODES = {
  credentials_in_url: { status: 400, message: 'Put the token in the token field, not in the URL.' },
  format_not_supported: { status: 400, message: 'CEF is a syslog format; use palisade or ocsf for HTTP destinations.' },
  https_required: {
    status: 400,
    message:
      'Audit events leave Palisade only over HTTPS; use an https:// URL (for a lab receiver on plain http://, start Palisade with PALISADE_AUDIT_STREAMS_ALLOW_HTTP=true).',
  },
  not_a_webhook: { status: 400, message: 'Only webhook destinations have a signing secret.' },
  syslog_address_required: {
    status: 400,
    message: 'A syslog destination needs host and port (e.g. siem.example.com and 6514).',
  },
  token_not_used: {
    status: 400,
    message:
      'This kind of destination takes no token (syslog and webhooks authenticate otherwise). Leave the token out.',
  },
  token_required: { status: 400, message: 'A … destination needs its token (HEC token or Datadog API key).' },
  url_required: { status: 400, message: "This kind of destination needs a url. Give the receiver's endpoint URL." },
} as const satisfies ErrorCodeCatalog;
