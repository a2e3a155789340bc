import { type AuditEventInput, recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Tx } from '../db/schema.js';

/**
 * The audit actions of notifications, each with its OCSF class and what it records. Channel
 * credentials (webhook URLs, signing secrets) never appear in metadata: only the host.
 */
export const NOTIFICATION_AUDIT_ACTIONS = {
  'notification_channel.created': { ocsfClass: 6003, description: 'A notification channel was added (kind, name, host or recipients).' },
  'notification_channel.updated': { ocsfClass: 6003, description: 'A channel was renamed, its URL or recipients changed, or its signing secret rotated.' },
  'notification_channel.deleted': { ocsfClass: 6003, description: 'A channel was removed with the routes that named it.' },
  'notification_routing.updated': { ocsfClass: 6003, description: "The organization's routing (types → channels, minimum severity) was replaced; before and after." },
  'notification.dead_lettered': { ocsfClass: 6003, description: 'A notification delivery failed every attempt (or was refused for good) and waits for an admin.' },
  'notification.retried': { ocsfClass: 6003, description: 'An admin queued a dead-lettered delivery again.' },
} as const satisfies Record<string, { ocsfClass: number; description: string }>;

export type NotificationAuditAction = keyof typeof NOTIFICATION_AUDIT_ACTIONS;

export function recordNotificationAudit(tx: Tx, ctx: Pick<Ctx, 'clock' | 'caller' | 'meta'> & { db?: Ctx['db'] }, input: Omit<AuditEventInput, 'action'> & { action: NotificationAuditAction }): Promise<string> {
  return recordAudit(tx, ctx, input);
}
