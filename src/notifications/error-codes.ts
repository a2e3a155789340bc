import type { ErrorCodeCatalog } from '../errors.js';

/** Notifications: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const NOTIFICATIONS_ERROR_CODES = {
  notification_channel_url_required: {
    status: 400,
    message: 'Slack, Teams and webhook channels need a url: paste the incoming-webhook URL the service gave you.',
  },
  notification_channel_url_invalid: {
    status: 400,
    message:
      'The channel url is not a usable https:// URL (or it carries a user name or password). Paste the incoming-webhook URL exactly as the service shows it.',
  },
  notification_channel_field_not_allowed: {
    status: 400,
    message:
      'This field does not apply to this kind of channel (url on an email channel, recipients on a webhook, a signing secret on a non-webhook channel). Remove it.',
  },
  notification_channel_unknown: {
    status: 400,
    message:
      'A route names a channel that does not exist in this organization. Create the channel first, then route to its id.',
  },
  notification_type_unknown: {
    status: 400,
    message:
      'A route names a notification type that does not exist. GET /api/v1/orgs/{orgId}/notifications/types lists them.',
  },
  notification_delivery_not_dead: {
    status: 409,
    message: 'Only a dead-lettered delivery can be retried; this one is still being delivered or was delivered.',
  },
} as const satisfies ErrorCodeCatalog;
