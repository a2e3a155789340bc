import { PalisadeError } from '../errors.js';

import { NOTIFICATIONS_ERROR_CODES } from './error-codes.js';

export type NotificationErrorCode = keyof typeof NOTIFICATIONS_ERROR_CODES;

export function notificationError(
  code: NotificationErrorCode,
  message: string,
  details?: Record<string, unknown>,
): PalisadeError {
  return new PalisadeError(NOTIFICATIONS_ERROR_CODES[code].status, code, message, details ? { details } : {});
}
