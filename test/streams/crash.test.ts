import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { recordAuditBatch } from '../../src/audit/record.js';
import { createScheduler } from '../../src/jobs/registry.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { type FakeSiem, startFakeSiem } from '../peers/fake-siem.js';

describe('a Palisade process killed mid-delivery', () => {
  let t: TestApp;
  let siem: FakeSiem;
  let secret: string | null = null;
  before(async () => {
    t = await createTestApp({ auditStreamsAllowHttp: true });
    siem = await startFakeSiem({ hecToken: 'unused-token', ddApiKey: 'unused', webhookSecret: () => secret, now: () => t.clock.now() });
  });
  after(async () => {
    await siem.stop();
    await t.close();
  });

  test('SIGKILL while a batch is in flight, restart: every event is delivered, in order (duplicates only of the unacknowledged batch)', async () => {
    const { orgId, owner } = await t.seedOrg('Crashy', 'owner@crashy.example');
    const created = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, { name: 'hook', kind: 'webhook', url: `${siem.url}/hook` });
    secret = created.body.webhookSecret;
    const streamId: string = created.body.stream.id;
    const from = created.body.stream.health.cursorSeq as number;
    await t.db.database.db.transaction().execute((tx) => recordAuditBatch(tx, t.system, Array.from({ length: 1000 }, (_, i) => ({ orgId, action: 'test.activity', metadata: { i } }))));

    // A separate Palisade process runs the delivery job; the receiver accepts 2 batches of 200, then hangs.
    siem.hangWebhookAfter = 2;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'jobs', 'run', 'streams.deliver'], {
      // The same installation: its master key (credentials are sealed) and its outbound allowlist (the receiver is on loopback).
      env: { ...process.env, DATABASE_URL: t.db.url, PALISADE_LOG_LEVEL: 'silent', PALISADE_MASTER_KEY: t.config.masterKey, PALISADE_OUTBOUND_ALLOW_CIDRS: t.config.outboundAllowCidrs.join(',') },
      stdio: 'ignore',
    });
    const until = Date.now() + 30_000;
    while (siem.webhook.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(siem.webhook.length, 3, 'the child delivered two batches and is stuck on the third');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const mid = await t.db.database.db.selectFrom('audit_streams').select(['cursor_seq', 'lease_owner']).where('id', '=', streamId).executeTakeFirstOrThrow();
    assert.equal(Number(mid.cursor_seq), from + 400, 'the cursor moved only for acknowledged batches');
    assert.ok(mid.lease_owner, 'the dead process still holds the lease');

    // Restart: once the dead process's leases expire (simulated by moving time forward), delivery resumes.
    siem.hangWebhookAfter = null;
    t.clock.advance(2 * 60_000);
    await t.db.database.db.updateTable('job_leases').set({ lease_until: new Date(Date.now() - 1000).toISOString() }).where('name', '=', 'streams.deliver').execute();
    const r = await createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config }).runNow('streams.deliver');
    assert.equal(r.status, 'succeeded', r.error);

    const all = await t.db.database.db.selectFrom('audit_events').select(['id', 'seq']).where('org_id', '=', orgId).where('seq', '>', from).orderBy('seq').execute();
    const received = siem.webhook.flatMap((b) => b.events.map((e) => e.id as string));
    const firstSeen = [...new Set(received)];
    const cur = await t.db.database.db.selectFrom('audit_streams').selectAll().where('id', '=', streamId).executeTakeFirstOrThrow();
    assert.deepEqual(firstSeen, all.map((e) => e.id), `every event, in order ${JSON.stringify({ r, received: received.length, uniq: firstSeen.length, all: all.length, cur })}`);
    assert.equal(received.length - firstSeen.length, 200, 'only the unacknowledged batch was sent twice');
  });
});
