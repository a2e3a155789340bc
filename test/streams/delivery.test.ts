import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import splunk from 'splunk-logging';
import { recordAuditBatch } from '../../src/audit/record.js';
import { deliverStream } from '../../src/streams/deliver.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type FakeSiem, startFakeSiem } from '../peers/fake-siem.js';
import { type RsyslogPeer, startRsyslog } from '../peers/rsyslog.js';
import { testAction } from '../helpers/audit-actions.js';

const HEC_TOKEN = 'hec-0f3c6c1e-5d0b-4e9b-9d51-7f1f0b2a9c11';
const DD_KEY = 'dd-api-key-abcdef0123456789';

interface Ids {
  tcp: string;
  tls: string;
  hec: string;
  dd: string;
  hook: string;
}

describe('SIEM streaming: real rsyslog (TCP and TLS) and a strict fake HTTP intake', () => {
  let t: TestApp;
  let tcp: RsyslogPeer;
  let tls: RsyslogPeer;
  let siem: FakeSiem;
  let webhookSecret: string | null = null;
  let orgId: string;
  let owner: Agent;
  const ids = {} as Ids;
  /** Each destination starts after the head at its creation (startFrom: now). */
  const startSeq = {} as Record<keyof Ids, number>;

  before(async () => {
    t = await createTestApp({ auditStreamsAllowHttp: true });
    [tcp, tls] = await Promise.all([startRsyslog(), startRsyslog({ tls: true })]);
    siem = await startFakeSiem({
      hecToken: HEC_TOKEN,
      ddApiKey: DD_KEY,
      webhookSecret: () => webhookSecret,
      now: () => t.clock.now(),
    });
    ({ orgId, owner } = await t.seedOrg('Streamer', 'owner@streamer.example'));
  });
  after(async () => {
    await Promise.all([tcp?.cleanup(), tls?.cleanup(), siem?.stop()]);
    await t?.close();
  });

  const deliverAll = async () => {
    const r = await createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config }).runNow(
      'streams.deliver',
    );
    assert.equal(r.status, 'succeeded', r.error);
    return r.summary as { streams: number; delivered: number; failed: number };
  };
  const orgEvents = async () =>
    t.db.database.db
      .selectFrom('audit_events')
      .select(['id', 'seq', 'action'])
      .where('org_id', '=', orgId)
      .orderBy('seq')
      .execute();
  const activity = (n: number, tag: string) =>
    t.db.database.db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        t.system,
        Array.from({ length: n }, (_, i) => ({ orgId, action: testAction('test.activity'), metadata: { tag, i } })),
      ),
    );

  test('admins add each kind of destination; tokens are write-only and the webhook secret is shown once', async () => {
    const mk = async (body: Record<string, unknown>) => {
      const res = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, body);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body;
    };
    ids.tcp = (
      await mk({ name: 'rsyslog tcp', kind: 'syslog_tcp', format: 'ocsf', host: '127.0.0.1', port: tcp.port })
    ).stream.id;
    ids.tls = (
      await mk({
        name: 'rsyslog tls',
        kind: 'syslog_tls',
        format: 'cef',
        host: '127.0.0.1',
        port: tls.port,
        caPem: tls.caPem,
      })
    ).stream.id;
    const hec = await mk({ name: 'Splunk', kind: 'splunk_hec', url: siem.url, token: HEC_TOKEN, index: 'security' });
    ids.hec = hec.stream.id;
    assert.ok(!JSON.stringify(hec).includes(HEC_TOKEN), 'the HEC token is never returned');
    assert.equal(hec.stream.secretHint, `…${HEC_TOKEN.slice(-4)}`);
    ids.dd = (
      await mk({ name: 'Datadog', kind: 'datadog', format: 'ocsf', url: `${siem.url}/api/v2/logs`, token: DD_KEY })
    ).stream.id;
    const hook = await mk({ name: 'Webhook', kind: 'webhook', format: 'ocsf', url: `${siem.url}/hook` });
    ids.hook = hook.stream.id;
    webhookSecret = hook.webhookSecret;
    assert.match(webhookSecret!, /^whsec_[A-Za-z0-9_-]{43}$/);
    const list = await owner.get(`/api/v1/orgs/${orgId}/audit-streams`);
    assert.equal(list.body.data.length, 5);
    for (const k of Object.keys(ids) as (keyof Ids)[])
      startSeq[k] = list.body.data.find((s: { id: string }) => s.id === ids[k]).health.cursorSeq;
    for (const s of [HEC_TOKEN, DD_KEY, webhookSecret!, 'BEGIN CERTIFICATE'])
      assert.ok(!list.raw.body.includes(s), `list leaks ${s.slice(0, 12)}`);
    assert.equal(list.body.data.find((s: { id: string }) => s.id === ids.tls).settings.caConfigured, true);

    // Refusals.
    const bad = async (body: Record<string, unknown>, code: string) => {
      const res = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, code);
    };
    await bad({ name: 'x', kind: 'splunk_hec', url: siem.url }, 'token_required');
    await bad({ name: 'x', kind: 'webhook', url: `${siem.url}/hook`, format: 'cef' }, 'format_not_supported');
    await bad({ name: 'x', kind: 'syslog_tcp', host: '127.0.0.1' }, 'syslog_address_required');
    await bad({ name: 'x', kind: 'webhook', url: 'https://user:pw@siem.example/hook' }, 'credentials_in_url');
    const { agent } = await t.addMember(owner, orgId, 'member@streamer.example', 'member');
    assert.equal(
      (
        await agent.post(`/api/v1/orgs/${orgId}/audit-streams`, {
          name: 'm',
          kind: 'webhook',
          url: 'https://x.example',
        })
      ).status,
      403,
    );
    assert.equal((await agent.get(`/api/v1/orgs/${orgId}/audit-streams`)).status, 403);
  });

  const assertAllDelivered = async () => {
    const all = await orgEvents();
    const want = (k: keyof Ids) => all.filter((e) => Number(e.seq) > startSeq[k]).map((e) => e.id);
    const tcpRecs = await tcp.waitFor(want('tcp').length);
    const tlsRecs = await tls.waitFor(want('tls').length);
    // Exactly once and in order, per destination.
    assert.deepEqual(
      tcpRecs.map((r) => (JSON.parse(r.msg) as { metadata: { uid: string } }).metadata.uid),
      want('tcp'),
      'syslog tcp (OCSF)',
    );
    // rsyslog's own RFC 5424 structured-data parser (mmpstrucdata) reads the event id and seq back.
    assert.deepEqual(
      tlsRecs.map((r) => r.sd['palisade@32473']?.eventid),
      want('tls'),
      'syslog tls structured data',
    );
    assert.deepEqual(
      tcpRecs.map((r) => Number(r.sd['palisade@32473']?.seq)),
      all.filter((e) => Number(e.seq) > startSeq.tcp).map((e) => Number(e.seq)),
    );
    assert.deepEqual(
      tlsRecs.map((r) => /externalId=(evt_\w+)/.exec(r.msg)?.[1]),
      want('tls'),
      'syslog tls (CEF)',
    );
    // Synthetic "send test event" deliveries (seq 0, never in the chain) are not part of the stream.
    const real = (e: { action?: string; id?: string }) => e.id !== undefined && e.action !== 'stream.test_sent';
    assert.deepEqual(
      siem.hec
        .map((h) => (h as { event: { id?: string; action?: string } }).event)
        .filter(real)
        .map((e) => e.id),
      want('hec'),
      'HEC',
    );
    assert.deepEqual(
      siem.datadog.map((d) => (JSON.parse(d.message as string) as { metadata: { uid: string } }).metadata.uid),
      want('dd'),
      'Datadog',
    );
    assert.deepEqual(
      siem.webhook.flatMap((b) =>
        b.events
          .filter((e) => (e.metadata as { sequence: number }).sequence !== 0)
          .map((e) => (e.metadata as { uid: string }).uid),
      ),
      want('hook'),
      'webhook',
    );
    return want('tcp');
  };

  test('events flow to all five destinations, in order, in the chosen format', async () => {
    await owner.post(`/api/v1/orgs/${orgId}/members`, { email: 'new@streamer.example', role: 'admin' });
    await activity(450, 'first');
    const s = await deliverAll();
    assert.equal(s.failed, 0);
    const expected = await assertAllDelivered();
    assert.ok(expected.length > 450);
    // Syslog structured data carries the event id, and rsyslog parsed RFC 5424 fields.
    const rec = tcp.records()[0]!;
    assert.equal(rec.version, '1');
    assert.equal(rec.msgid, 'stream.created');
    assert.match(
      rec.structuredData,
      /^\[palisade@32473 eventId="evt_\w+" orgId="org_\w+" seq="\d+" outcome="success"\]$/,
    );
    const ocsf = JSON.parse(tcp.records().find((r) => r.msgid === 'member.invited')!.msg);
    assert.equal(ocsf.class_uid, 3001);
    assert.equal(ocsf.activity_id, 1);
    assert.match(tls.records()[0]!.msg, /^CEF:0\|Palisade\|Palisade\|/);
    const hec = siem.hec[0] as { index: string; sourcetype: string; time: number };
    assert.equal(hec.index, 'security');
    assert.equal(typeof hec.time, 'number');
    const health = await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${ids.hook}`);
    assert.equal(health.body.health.state, 'healthy');
    assert.equal(health.body.health.lag, 0);
    assert.ok(health.body.health.lastSuccessAt);
  });

  test('outage: receivers stopped mid-stream, events keep coming, receivers restart: nothing lost, nothing reordered', async () => {
    await Promise.all([tcp.stop(), tls.stop(), siem.stop()]);
    await activity(30, 'during outage');
    let s = await deliverAll();
    assert.equal(s.failed, 5);
    const down = await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}`);
    assert.equal(down.body.health.state, 'retrying');
    assert.ok(down.body.health.lag >= 30);
    assert.match(
      down.body.health.lastError,
      /^splunk_hec receiver http:\/\/127\.0\.0\.1:\d+ could not be reached: connect ECONNREFUSED/,
    );
    // Retries are spaced by the backoff: nothing is due until the clock moves.
    s = await deliverAll();
    assert.equal(
      s.streams,
      0,
      JSON.stringify(
        (await owner.get(`/api/v1/orgs/${orgId}/audit-streams`)).body.data.map(
          (x: { name: string; health: unknown }) => [x.name, x.health],
        ),
      ),
    );
    for (let i = 0; i < 5; i++) {
      t.clock.advance(20_000);
      await activity(3, `outage ${i}`);
      await deliverAll();
    }
    const open = await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${ids.tcp}`);
    assert.equal(open.body.health.state, 'circuit_open');
    assert.ok(open.body.health.consecutiveFailures >= 5);
    const failedEvents = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=stream.*&outcome=failure&limit=50`);
    const actions = failedEvents.body.data.map((e: { action: string }) => e.action);
    assert.equal(actions.filter((a: string) => a === 'stream.delivery_failed').length, 5);
    assert.equal(actions.filter((a: string) => a === 'stream.circuit_opened').length, 5);

    await Promise.all([tcp.start(), tls.start(), siem.start()]);
    t.clock.advance(5 * 60_000);
    s = await deliverAll();
    assert.equal(s.failed, 0);
    const recovered = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=stream.recovered`);
    assert.equal(recovered.body.data.length, 5);
    // The recovery events are themselves delivered on the next run.
    await deliverAll();
    await assertAllDelivered();
    const healthy = await owner.get(`/api/v1/orgs/${orgId}/audit-streams`);
    for (const st of healthy.body.data) {
      assert.equal(st.health.state, 'healthy', st.name);
      assert.equal(st.health.lag, 0, st.name);
    }
  });

  test('a process that died holding a destination lease: the lease expires and delivery resumes from the cursor', async () => {
    await t.db.database.db
      .updateTable('audit_streams')
      .set({ lease_owner: 'dead-host:1:abc', lease_until: new Date(t.clock.now().getTime() + 60_000).toISOString() })
      .where('id', '=', ids.hook)
      .execute();
    await activity(4, 'after crash');
    assert.equal(await deliverStream(t.system, ids.hook), undefined, 'another process holds it');
    t.clock.advance(61_000);
    const r = await deliverStream(t.system, ids.hook);
    assert.equal(r?.ok, true);
    assert.ok((r?.delivered ?? 0) >= 4);
    // Two workers at once: exactly one takes the destination.
    await activity(2, 'race');
    const both = await Promise.all([deliverStream(t.system, ids.dd), deliverStream(t.system, ids.dd)]);
    assert.equal(both.filter((x) => x === undefined).length, 1);
    await deliverAll();
    await assertAllDelivered();
  });

  test("send test event shows the receiver's exact answer; a permanent refusal dead-letters until an admin retries", async () => {
    const ok = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}/test`);
    assert.equal(ok.body.ok, true);
    assert.equal(ok.body.response, '{"text":"Success","code":0}');
    const wrong = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'Bad token',
      kind: 'splunk_hec',
      url: siem.url,
      token: 'not-the-right-token',
    });
    const test1 = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${wrong.body.stream.id}/test`);
    assert.equal(test1.body.ok, false);
    assert.equal(test1.body.status, 403);
    assert.equal(test1.body.response, '{"text":"Invalid token","code":4}');
    await activity(1, 'to dead letter');
    await deliverAll();
    const dl = await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${wrong.body.stream.id}`);
    assert.equal(dl.body.status, 'dead_letter');
    assert.equal(dl.body.health.state, 'dead_letter');
    assert.match(dl.body.health.lastError, /HTTP 403: \{"text":"Invalid token","code":4\}/);
    assert.ok(dl.body.health.lag > 0);
    const dead = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=stream.dead_lettered`);
    assert.equal(dead.body.data.length, 1);
    // Dead-lettered destinations are not retried by the job...
    t.clock.advance(10 * 60_000);
    const s = await deliverAll();
    assert.ok(s.streams <= 5);
    // ...until an admin fixes and retries (here: the cursor stays, nothing was skipped).
    const retry = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${wrong.body.stream.id}/retry`);
    assert.equal(retry.body.status, 'active');
    assert.equal(retry.body.health.cursorSeq, dl.body.health.cursorSeq);
    await owner.delete(`/api/v1/orgs/${orgId}/audit-streams/${wrong.body.stream.id}`);
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${wrong.body.stream.id}`)).status, 404);
  });

  test('credentials can be replaced but are never shown again; a rotated webhook secret signs from then on', async () => {
    const rotated = await owner.patch(`/api/v1/orgs/${orgId}/audit-streams/${ids.hook}`, { rotateWebhookSecret: true });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.match(rotated.body.webhookSecret, /^whsec_/);
    assert.notEqual(rotated.body.webhookSecret, webhookSecret);
    const old = webhookSecret;
    webhookSecret = rotated.body.webhookSecret;
    const again = await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${ids.hook}`);
    assert.ok(!again.raw.body.includes(webhookSecret!) && !again.raw.body.includes(old!));
    assert.equal((await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${ids.hook}/test`)).body.ok, true);
    const tok = await owner.patch(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}`, { token: 'another-token-123' });
    assert.equal(tok.body.secretHint, '…-123');
    assert.ok(!tok.raw.body.includes('another-token-123'));
    assert.equal((await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}/test`)).body.status, 403);
    await owner.patch(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}`, { token: HEC_TOKEN });
    assert.equal(
      (await owner.patch(`/api/v1/orgs/${orgId}/audit-streams/${ids.tcp}`, { token: 'whatever-123' })).body.error.code,
      'token_not_used',
    );
    const log = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=stream.credentials_rotated`);
    assert.equal(log.body.data.length, 3);
    assert.ok(!log.raw.body.includes('another-token-123') && !log.raw.body.includes(webhookSecret!));
    await deliverAll();
    await assertAllDelivered();
  });

  test('TLS syslog refuses a receiver whose certificate the configured CA did not sign, or for another name', async () => {
    const noCa = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'tls without CA',
      kind: 'syslog_tls',
      host: '127.0.0.1',
      port: tls.port,
    });
    const r1 = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${noCa.body.stream.id}/test`);
    assert.equal(r1.body.ok, false);
    assert.match(r1.body.error, /certificate/i);
    assert.match(r1.body.error, /Set caPem to the CA that signed the receiver's certificate/, 'says what to change');
    const wrongName = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'tls wrong name',
      kind: 'syslog_tls',
      host: '127.0.0.1',
      port: tls.port,
      caPem: tls.caPem,
      serverName: 'siem.evil.example',
    });
    const r2 = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${wrongName.body.stream.id}/test`);
    assert.equal(r2.body.ok, false);
    assert.match(r2.body.error, /altnames|does not match|Hostname/i);
    assert.match(r2.body.error, /Set serverName/);
    // Plain TCP pointed at rsyslog's TLS listener: rsyslog resets it, and the answer names the likely mix-up.
    const plainToTls = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'tcp to tls port',
      kind: 'syslog_tcp',
      host: '127.0.0.1',
      port: tls.port,
    });
    const r3 = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${plainToTls.body.stream.id}/test`);
    assert.equal(r3.body.ok, false);
    assert.match(r3.body.error, /ECONNRESET.*use kind syslog_tls/);
    for (const id of [noCa.body.stream.id, wrongName.body.stream.id, plainToTls.body.stream.id])
      await owner.delete(`/api/v1/orgs/${orgId}/audit-streams/${id}`);
  });

  test("the fake HEC accepts what Splunk's own client (splunk-logging) sends: the fake is not stricter than HEC", async () => {
    const before = siem.hec.length;
    const logger = new splunk.Logger({ token: HEC_TOKEN, url: siem.url, maxBatchCount: 1 });
    await new Promise<void>((resolve, reject) =>
      logger.send(
        {
          message: { id: 'evt_oracle', action: 'oracle.sent' },
          metadata: { source: 'palisade', sourcetype: 'palisade:audit', index: 'security', host: 'h' },
        },
        (err: Error | null, resp: { statusCode: number }, body: unknown) => {
          if (err) reject(err);
          else if (resp.statusCode !== 200)
            reject(new Error(`HEC fake refused splunk-logging: ${JSON.stringify(body)}`));
          else resolve();
        },
      ),
    );
    assert.equal(siem.hec.length, before + 1);
    const got = siem.hec[siem.hec.length - 1] as { event: { message: { id: string } } };
    assert.equal(got.event.message.id, 'evt_oracle');
  });
});
