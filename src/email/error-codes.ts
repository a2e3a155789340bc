import type { ErrorCodeCatalog } from '../errors.js';

/** Outgoing email: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const EMAIL_ERROR_CODES = {
  email_content_erased: {
    status: 409,
    message:
      'This message\'s content was erased because its links expired. Send a new one instead (invite the person again, or ask them to use "Forgot password").',
  },
  email_not_configured: {
    status: 409,
    message:
      'No mail server is configured: set PALISADE_SMTP_URL (smtp://host:587 or smtps://host:465) and PALISADE_SMTP_FROM, then run this again.',
  },
  email_not_dead: {
    status: 409,
    message: 'This message is …; only a message that failed every attempt (dead) can be sent again.',
  },
} as const satisfies ErrorCodeCatalog;
