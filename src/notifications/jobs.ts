import type { Ctx } from '../context.js';
import type { JobDefinition } from '../jobs/scheduler.js';
import { deliverDueNotifications } from './deliver.js';
import { sendDigests } from './digest.js';
import { dispatchAuditEvents } from './engine.js';
import { sendReminders } from './remind.js';
import { scanAll } from './scan.js';

type Sys = Pick<Ctx, 'db' | 'clock' | 'config'>;

/**
 * One pass: new audit events become notifications, due reminders are written, then everything
 * queued is sent. Each step is idempotent (dedup keys, leased deliveries), so a pass may run again
 * or in two processes without sending anything twice.
 */
export async function notificationPass(ctx: Sys, signal?: AbortSignal): Promise<Record<string, number>> {
  const dispatched = await dispatchAuditEvents(ctx, signal);
  const reminded = await sendReminders(ctx, signal);
  const delivered = await deliverDueNotifications(ctx);
  return { ...dispatched, ...reminded, ...delivered };
}

export function notificationJobs(): JobDefinition[] {
  return [
    { name: 'notifications.dispatch', intervalMs: 10_000, run: async (ctx, run) => notificationPass(ctx, run?.signal) },
    // Time-driven detectors (certificate expiry, SCIM error rate, unused SCIM tokens): hourly is enough for day-sized thresholds.
    { name: 'notifications.scan', intervalMs: 3_600_000, run: async (ctx) => scanAll(ctx) },
    notificationDigestJob(),
  ];
}

export function notificationDigestJob(): JobDefinition {
  return { name: 'notifications.digest', intervalMs: 24 * 3_600_000, run: async (ctx) => sendDigests(ctx) };
}
