import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/schema.js';

/**
 * Notification metrics, read from the database at each scrape (so every process reports the same
 * numbers): deliveries sent, failed (dead-lettered) and pending (queued or being sent), by channel
 * kind, plus failed attempts still being retried. Labels carry no organization names.
 */
export function registerNotificationMetrics(registry: Registry, db: Db): void {
  const read = async () => {
    const rows = await db
      .selectFrom('notification_deliveries')
      .select(['channel_kind', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['channel_kind', 'status'])
      .execute();
    const retrying = await db
      .selectFrom('notification_deliveries')
      .select(['channel_kind', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', '=', 'queued')
      .where('attempts', '>', 0)
      .groupBy('channel_kind')
      .execute();
    return { rows, retrying };
  };
  let shared: Promise<Awaited<ReturnType<typeof read>> | undefined> | undefined;
  // One query per scrape for all four gauges.
  const reading = () =>
    (shared ??= read()
      .catch(() => undefined)
      .finally(() => setTimeout(() => (shared = undefined), 0)));
  const gauge = (
    name: string,
    help: string,
    fill: (g: Gauge<'channel'>, r: Awaited<ReturnType<typeof read>>) => void,
  ) =>
    new Gauge<'channel'>({
      name,
      help,
      labelNames: ['channel'],
      registers: [registry],
      async collect() {
        const r = await reading();
        this.reset();
        if (r) fill(this, r);
      },
    });
  const byStatus = (statuses: string[]) => (g: Gauge<'channel'>, r: Awaited<ReturnType<typeof read>>) => {
    for (const kind of ['email', 'slack', 'teams', 'webhook'])
      g.set(
        { channel: kind },
        r.rows
          .filter((x) => x.channel_kind === kind && statuses.includes(x.status))
          .reduce((n, x) => n + Number(x.n), 0),
      );
  };
  gauge(
    'palisade_notifications_sent',
    'Notification deliveries sent (accepted by the receiver, or queued in the email outbox), by channel kind.',
    byStatus(['sent']),
  );
  gauge(
    'palisade_notifications_failed',
    'Notification deliveries that failed every attempt (dead-lettered; an admin may retry them), by channel kind.',
    byStatus(['dead']),
  );
  gauge(
    'palisade_notifications_pending',
    'Notification deliveries waiting to be sent (queued, being sent, or held for a daily digest), by channel kind.',
    byStatus(['queued', 'sending', 'digest']),
  );
  gauge(
    'palisade_notifications_retrying',
    'Pending notification deliveries that already failed at least once, by channel kind.',
    (g, r) => {
      for (const kind of ['email', 'slack', 'teams', 'webhook'])
        g.set({ channel: kind }, Number(r.retrying.find((x) => x.channel_kind === kind)?.n ?? 0));
    },
  );
}
