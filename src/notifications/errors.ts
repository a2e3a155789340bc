import { PalisadeError } from '../errors.js';

/**
 * Every error code of the notifications API, declared once with its status. docs/notifications.md
 * lists each with what to do.
 */
export const NOTIFICATION_ERRORS = {
  notification_channel_url_required: 400,
  notification_channel_url_invalid: 400,
  notification_channel_field_not_allowed: 400,
  notification_channel_unknown: 400,
  notification_type_unknown: 400,
  notification_delivery_not_dead: 409,
} as const satisfies Record<string, number>;

export type NotificationErrorCode = keyof typeof NOTIFICATION_ERRORS;

export function notificationError(code: NotificationErrorCode, message: string, details?: Record<string, unknown>): PalisadeError {
  return new PalisadeError(NOTIFICATION_ERRORS[code], code, message, details ? { details } : {});
}
