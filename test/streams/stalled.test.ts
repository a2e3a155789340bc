import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordAuditBatch } from '../../src/audit/record.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type FakeSiem, startFakeSiem } from '../peers/fake-siem.js';
import { testAction } from '../helpers/audit-actions.js';

/** The lines of /metrics for one metric name, as {labels, value}. */
function series(metrics: string, name: string): { labels: Record<string, string>; value: number }[] {
  return metrics
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => {
      const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(l)!;
      const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      return { labels: labels as Record<string, string>, value: Number(m[2]) };
    });
}

describe('health that tells the truth: a stream whose lag grows while nothing is delivered is stalled', () => {
  let t: TestApp;
  let siem: FakeSiem;
  let secret: string | null = null;
  let orgId: string;
  let owner: Agent;
  let streamId: string;
  before(async () => {
    t = await createTestApp({ auditStreamsAllowHttp: true, auditStreamStallSeconds: 60 });
    siem = await startFakeSiem({
      hecToken: 'x-unused-token',
      ddApiKey: 'x',
      webhookSecret: () => secret,
      now: () => t.clock.now(),
    });
    ({ orgId, owner } = await t.seedOrg('Stall', 'owner@stall.example'));
    const created = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'hook',
      kind: 'webhook',
      url: `${siem.url}/hook`,
    });
    secret = created.body.webhookSecret;
    streamId = created.body.stream.id;
  });
  after(async () => {
    await siem?.stop();
    await t?.close();
  });

  const activity = (n: number) =>
    t.db.database.db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        t.system,
        Array.from({ length: n }, (_, i) => ({ orgId, action: testAction('test.activity'), metadata: { i } })),
      ),
    );
  const health = async () => (await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${streamId}`)).body.health;
  const deliver = () =>
    createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config }).runNow('streams.deliver');

  test('no process runs the delivery job: stalled since the oldest waiting event, and why', async () => {
    await activity(5);
    const waitingSince = t.clock.now().toISOString();
    assert.equal((await health()).state, 'idle', 'not stalled before the stall period');
    t.clock.advance(61_000);
    const h = await health();
    assert.equal(h.state, 'stalled');
    assert.equal(h.lag, 6);
    assert.equal(h.consecutiveFailures, 0);
    assert.equal(h.stalled.code, 'delivery_job_not_running');
    assert.ok(h.stalled.since <= waitingSince, `since ${h.stalled.since}`);
    assert.match(h.stalled.reason, /6 events wait and the streams\.deliver job has never run/);

    assert.equal((await deliver()).status, 'succeeded');
    const after = await health();
    assert.equal(after.state, 'healthy');
    assert.equal(after.stalled, null);
    assert.equal(after.lag, 0);
  });

  test('the job lease held by a process that died on another host (the reported 5-minute stall): stalled, degraded readiness, metrics and alerts', async () => {
    // What a crashed process on another host leaves: the lease row says it runs the job.
    await t.db.database.db
      .updateTable('job_leases')
      .set({
        owner: 'other-host:4242:abcdef;boot=0,ns=1,start=2',
        lease_until: new Date(t.clock.now().getTime() + 15_000).toISOString(),
        next_run_at: t.clock.now().toISOString(),
      })
      .where('name', '=', 'streams.deliver')
      .execute();
    await activity(9_774);
    t.clock.advance(90_000);
    const h = await health();
    assert.equal(h.state, 'stalled', 'not "healthy" with 0 failures while the lag grows');
    assert.equal(h.stalled.code, 'delivery_job_not_running');
    assert.match(h.stalled.reason, /9774 events wait and the streams\.deliver job/);

    const ready = await t.anonymous().get('/readyz');
    assert.equal(ready.status, 200, 'reads still work: the instance stays in the load balancer');
    assert.equal(ready.body.status, 'degraded');
    assert.deepEqual(ready.body.checks.streams, { active: 1, stalled: 1, maxLag: 9774, totalLag: 9774 });
    assert.equal(ready.body.checks.storage.writable, true);
    assert.ok(
      ready.body.checks.jobs.stalled.some(
        (j: { name: string; code: string }) => j.name === 'streams.deliver' && j.code === 'holder_gone',
      ),
      JSON.stringify(ready.body.checks.jobs),
    );
    assert.ok(
      !ready.raw.body.includes(orgId) && !ready.raw.body.includes(streamId),
      'the unauthenticated readiness shows no organization data',
    );

    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const lag = series(metrics, 'palisade_audit_stream_lag_events').find((s) => s.labels.stream_id === streamId);
    assert.equal(lag?.value, 9774);
    assert.equal(lag?.labels.org_id, orgId);
    const stalled = series(metrics, 'palisade_audit_stream_stalled').find((s) => s.labels.stream_id === streamId);
    assert.deepEqual([stalled?.value, stalled?.labels.code], [1, 'delivery_job_not_running']);
    assert.ok(
      (series(metrics, 'palisade_audit_stream_stalled_seconds').find((s) => s.labels.stream_id === streamId)?.value ??
        0) >= 60,
    );
    assert.deepEqual(
      series(metrics, 'palisade_job_stalled').find((s) => s.labels.job_name === 'streams.deliver'),
      { labels: { job_name: 'streams.deliver', code: 'holder_gone' }, value: 1 },
    );
    assert.equal(series(metrics, 'palisade_storage_writable')[0]?.value, 1);
    assert.equal(series(metrics, 'palisade_database_up')[0]?.value, 1);

    // A live scheduler takes the expired lease over and drains the lag.
    assert.equal((await deliver()).status, 'succeeded');
    assert.equal((await health()).lag, 0);
    const readyAgain = await t.anonymous().get('/readyz');
    assert.equal(readyAgain.body.status, 'ready', JSON.stringify(readyAgain.body));
    assert.deepEqual(readyAgain.body.checks.jobs.stalled, []);
  });

  test("a receiver that keeps failing: retrying, and stalled with the receiver's error as the reason", async () => {
    siem.failWith = 503;
    try {
      await activity(3);
      assert.equal((await deliver()).status, 'succeeded');
      t.clock.advance(61_000);
      // The job keeps running (its own lease is fine); the destination is in backoff.
      await deliver();
      const h = await health();
      assert.equal(h.state, 'retrying');
      assert.equal(h.stalled.code, 'delivery_failing');
      assert.match(h.stalled.reason, /\d+ events wait and the last \d+ attempts failed: webhook answered HTTP 503/);
      const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.equal(
        series(metrics, 'palisade_audit_stream_stalled').find((s) => s.labels.stream_id === streamId)?.labels.code,
        'delivery_failing',
      );
    } finally {
      siem.failWith = null;
    }
    t.clock.advance(10 * 60_000);
    await deliver();
    assert.equal((await health()).state, 'healthy');
  });
});
