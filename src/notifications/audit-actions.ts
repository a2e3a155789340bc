import type { AuditActionCatalog } from '../audit/action-spec.js';

/**
 * Notifications. See src/audit/action-spec.ts for the fields. Channel credentials (webhook URLs,
 * signing secrets) never appear in metadata: only the host.
 */
export const NOTIFICATIONS_AUDIT_ACTIONS = {
  'notification_channel.created': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A notification channel was added (kind, name, host or recipients).',
  },
  'notification_channel.updated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'A channel was renamed, its URL or recipients changed, or its signing secret rotated.',
  },
  'notification_channel.deleted': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A channel was removed with the routes that named it.',
  },
  'notification_routing.updated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: "The organization's routing (types → channels, minimum severity) was replaced; before and after.",
  },
  'notification.dead_lettered': {
    ocsf: 'API Activity: Other',
    security: false,
    description: 'A notification delivery failed every attempt (or was refused for good) and waits for an admin.',
  },
  'notification.retried': {
    ocsf: 'API Activity: Update',
    security: false,
    description: 'An admin queued a dead-lettered delivery again.',
  },
} as const satisfies AuditActionCatalog;
