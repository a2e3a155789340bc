/**
 * Notifications: audit events turned into notifications per second by the real dispatch path
 * (cursor read, mapping, routing, one transaction per batch), next to reading the same events
 * alone; and webhook deliveries per second by the real delivery path (lease per row, sealed URL
 * opened, HMAC-signed POST through the outbound policy), next to the same number of bare POSTs to
 * the same loopback receiver.
 */
import { recordAuditBatch } from '../src/audit/record.js';
import { deliverDueNotifications } from '../src/notifications/deliver.js';
import { dispatchAuditEvents } from '../src/notifications/engine.js';
import { createTestApp } from '../test/helpers/harness.js';
import { Receiver } from '../test/notifications/receivers.js';

const N = Number(process.env.BENCH_NOTIFICATIONS ?? (process.env.BENCH_SMOKE === '1' ? 200 : 2000));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function benchNotifications(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  console.log(`\n## Notifications (${N} events → ${N} notifications → ${N} signed webhook deliveries)`);
  for (const dialect of dialects) {
    process.env.PALISADE_TEST_DB = dialect;
    const hook = new Receiver();
    await hook.start();
    const t = await createTestApp({ notificationWebhooksAllowHttp: true });
    try {
      const { orgId, owner } = await t.seedOrg('Bench Co', 'owner@bench.test');
      const ch = await owner.post(`/api/v1/orgs/${orgId}/notifications/channels`, {
        name: 'bench',
        kind: 'webhook',
        url: `${hook.url}/in`,
      });
      await owner.request('PUT', `/api/v1/orgs/${orgId}/notifications/routing`, {
        routes: [{ type: 'key.created', channelId: ch.body.channel.id }],
      });
      await dispatchAuditEvents(t.system);
      await deliverDueNotifications(t.system);
      const events = Array.from({ length: N }, (_, i) => ({
        orgId,
        action: 'gateway_key.created' as const,
        targets: [{ type: 'gateway_key', id: `gwk_${i}`, name: `key ${i}` }],
      }));
      await t.db.database.db.transaction().execute((tx) => recordAuditBatch(tx, t.system, events));
      const read = await timed(() =>
        t.db.database.db.selectFrom('audit_events').selectAll().where('org_id', '=', orgId).orderBy('seq').execute(),
      );
      let made = 0;
      const dispatch = await timed(async () => (made = (await dispatchAuditEvents(t.system)).notifications));
      hook.received = [];
      let sent = 0;
      const deliver = await timed(async () => (sent = (await deliverDueNotifications(t.system)).sent));
      const body = JSON.stringify({ id: 'x', facts: { name: 'key' } });
      const raw = await timed(async () => {
        for (let i = 0; i < N; i++)
          await fetch(`${hook.url}/raw`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      });
      console.log(
        `${dialect}: dispatch ${made} notifications in ${dispatch.toFixed(2)} s = ${Math.round(made / dispatch)}/s (reading the same ${N} events alone: ${read.toFixed(3)} s)`,
      );
      console.log(
        `${dialect}: deliver ${sent} signed webhooks in ${deliver.toFixed(2)} s = ${Math.round(sent / deliver)}/s (the same number of bare sequential POSTs: ${Math.round(N / raw)}/s); receiver got ${hook.received.filter((r) => r.path === '/in').length}`,
      );
    } finally {
      await t.close();
      await hook.stop();
    }
  }
}
