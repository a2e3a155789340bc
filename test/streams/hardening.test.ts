import assert from 'node:assert/strict';
import { type AddressInfo, type Server, createServer as createTcpServer } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { recordAuditBatch } from '../../src/audit/record.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { setOutboundResolver } from '../../src/net/outbound.js';
import { sealLegacyStreamSecrets } from '../../src/streams/secrets.js';
import { Dnsmasq } from '../domains/dns-peers.js';
import { Agent, TEST_PASSWORD, type TestApp, createTestApp } from '../helpers/harness.js';
import { type WitnessServer, dnsmasqResolver, startWitness } from '../helpers/outbound.js';
import { type FakeSiem, startFakeSiem } from '../peers/fake-siem.js';
import { testAction } from '../helpers/audit-actions.js';

const HEC_TOKEN = 'hec-6b1d2f0e-8a4c-4f3e-9b7a-1c2d3e4f5a6b';
const DD_KEY = 'dd-api-key-0123456789abcdef';

async function deliverAll(t: TestApp) {
  const r = await createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config }).runNow('streams.deliver');
  assert.equal(r.status, 'succeeded', `the delivery job itself never fails: ${r.error}`);
  return r.summary as { streams: number; delivered: number; failed: number };
}

const activity = (t: TestApp, orgId: string, n: number, tag: string) =>
  t.db.database.db.transaction().execute((tx) =>
    recordAuditBatch(
      tx,
      t.system,
      Array.from({ length: n }, (_, i) => ({ orgId, action: testAction('test.activity'), metadata: { tag, i } })),
    ),
  );

const streamRow = (t: TestApp, id: string) =>
  t.db.database.db.selectFrom('audit_streams').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

/** Every way a secret could appear in a stored value: as is, base64, base64url, hex. */
const encodings = (s: string) => [
  s,
  Buffer.from(s).toString('base64'),
  Buffer.from(s).toString('base64url'),
  Buffer.from(s).toString('hex'),
];

describe('SIEM destination credentials are sealed at rest', () => {
  let t: TestApp;
  let siem: FakeSiem;
  let webhookSecret: string | null = null;
  let orgId: string;
  let owner: Agent;
  const ids = { hec: '', dd: '', hook: '' };

  before(async () => {
    t = await createTestApp({ auditStreamsAllowHttp: true });
    siem = await startFakeSiem({
      hecToken: HEC_TOKEN,
      ddApiKey: DD_KEY,
      webhookSecret: () => webhookSecret,
      now: () => t.clock.now(),
    });
    ({ orgId, owner } = await t.seedOrg('Sealed', 'owner@sealed.example'));
  });
  after(async () => {
    await siem?.stop();
    await t?.close();
  });

  const create = async (a: Agent, org: string, body: Record<string, unknown>) => {
    const res = await a.post(`/api/v1/orgs/${org}/audit-streams`, body);
    assert.equal(res.status, 201, res.raw.body);
    return res.body as { stream: { id: string; secretHint: string }; webhookSecret?: string };
  };

  test('the secret column holds no credential; only a ciphertext and its key version; delivery still authenticates and signs', async () => {
    ids.hec = (
      await create(owner, orgId, { name: 'Splunk', kind: 'splunk_hec', url: siem.url, token: HEC_TOKEN })
    ).stream.id;
    ids.dd = (
      await create(owner, orgId, { name: 'Datadog', kind: 'datadog', url: `${siem.url}/api/v2/logs`, token: DD_KEY })
    ).stream.id;
    const hook = await create(owner, orgId, { name: 'Webhook', kind: 'webhook', url: `${siem.url}/hook` });
    ids.hook = hook.stream.id;
    webhookSecret = hook.webhookSecret!;
    for (const [id, secret] of [
      [ids.hec, HEC_TOKEN],
      [ids.dd, DD_KEY],
      [ids.hook, webhookSecret],
    ] as const) {
      const row = await streamRow(t, id);
      assert.equal(row.secret, null, 'no plaintext column value');
      assert.ok(row.secret_ct && row.secret_ct.length > 40, 'a ciphertext is stored');
      assert.equal(Number(row.secret_key_version), 1);
      assert.equal(row.secret_hint, `…${secret.slice(-4)}`, 'the hint is the only visible part');
      const stored = JSON.stringify(row);
      for (const form of encodings(secret))
        assert.ok(!stored.includes(form), `the stored row contains the credential (${form.slice(0, 8)}…)`);
    }
    await activity(t, orgId, 30, 'sealed');
    const s = await deliverAll(t);
    assert.equal(s.failed, 0);
    assert.ok(
      siem.hec.length >= 30 && siem.datadog.length >= 30 && siem.webhook.length >= 1,
      'the fake intake checked the token, the API key and the HMAC signature',
    );
    assert.deepEqual(siem.rejected, []);
    const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=stream.*&limit=50`);
    for (const secret of [HEC_TOKEN, DD_KEY, webhookSecret])
      assert.ok(!events.raw.body.includes(secret), 'audit metadata never holds a credential');
  });

  test('a tampered ciphertext fails closed: nothing is sent, the job keeps running, health says what to do', async () => {
    const row = await streamRow(t, ids.hook);
    const ct = Buffer.from(row.secret_ct!, 'base64');
    ct[ct.length - 1]! ^= 0x01;
    await t.db.database.db
      .updateTable('audit_streams')
      .set({ secret_ct: ct.toString('base64') })
      .where('id', '=', ids.hook)
      .execute();
    const received = siem.webhook.length;
    await activity(t, orgId, 3, 'after tampering');
    const s = await deliverAll(t);
    assert.equal(s.failed, 1);
    const health = await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${ids.hook}`);
    assert.equal(health.body.status, 'dead_letter', 'retrying cannot fix a tampered credential');
    assert.match(
      health.body.health.lastError,
      /^stream_credential_integrity_failed: .*failed its integrity check.*rotateWebhookSecret.*retry/,
    );
    assert.equal(siem.webhook.length, received, 'nothing was sent with a credential that did not open');
    const tested = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${ids.hook}/test`);
    assert.equal(tested.status, 200);
    assert.equal(tested.body.ok, false);
    assert.match(tested.body.error, /stream_credential_integrity_failed/);
    const dead = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=stream.dead_lettered`);
    assert.match(dead.body.data[0].metadata.error, /stream_credential_integrity_failed/);

    // A valid ciphertext moved from another destination does not open either (bound to the stream id).
    const dd = await streamRow(t, ids.dd);
    await t.db.database.db
      .updateTable('audit_streams')
      .set({ secret_ct: dd.secret_ct, secret_key_version: dd.secret_key_version })
      .where('id', '=', ids.hec)
      .execute();
    const moved = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}/test`);
    assert.equal(moved.body.ok, false);
    assert.match(moved.body.error, /stream_credential_integrity_failed.*"token"/);
    // Relabelled with a key version that does not exist: the same.
    await t.db.database.db
      .updateTable('audit_streams')
      .set({ secret_key_version: 7 })
      .where('id', '=', ids.dd)
      .execute();
    assert.match(
      (await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${ids.dd}/test`)).body.error,
      /stream_credential_integrity_failed/,
    );

    // The fix the message names: enter the credential again, then retry.
    const rotated = await owner.patch(`/api/v1/orgs/${orgId}/audit-streams/${ids.hook}`, { rotateWebhookSecret: true });
    webhookSecret = rotated.body.webhookSecret;
    assert.equal(
      (await owner.patch(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}`, { token: HEC_TOKEN })).status,
      200,
    );
    assert.equal((await owner.patch(`/api/v1/orgs/${orgId}/audit-streams/${ids.dd}`, { token: DD_KEY })).status, 200);
    assert.equal((await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${ids.hook}/retry`)).body.status, 'active');
    t.clock.advance(10 * 60_000);
    assert.equal((await deliverAll(t)).failed, 0);
    assert.ok(siem.webhook.length > received, 'delivery resumed with the new secret');
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${ids.hook}`)).body.health.lag, 0);
  });

  test('credentials stored in clear before sealing existed are read safely, then sealed once by the delivery job', async () => {
    const legacy = (
      await create(owner, orgId, {
        name: 'Legacy Splunk',
        kind: 'splunk_hec',
        url: siem.url,
        token: 'placeholder-token',
      })
    ).stream.id;
    // What migration 0009 leaves for a destination created before it: the credential in the old column.
    await t.db.database.db
      .updateTable('audit_streams')
      .set({ secret: HEC_TOKEN, secret_ct: null, secret_key_version: null, secret_hint: `…${HEC_TOKEN.slice(-4)}` })
      .where('id', '=', legacy)
      .execute();
    const before = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${legacy}/test`);
    assert.equal(before.body.ok, true, 'a legacy credential keeps working until it is sealed');
    await activity(t, orgId, 2, 'legacy');
    const rejected = siem.rejected.length;
    assert.equal((await deliverAll(t)).failed, 0);
    assert.equal(siem.rejected.length, rejected);
    const row = await streamRow(t, legacy);
    assert.equal(row.secret, null, 'the plaintext is gone');
    assert.ok(row.secret_ct && !encodings(HEC_TOKEN).some((f) => JSON.stringify(row).includes(f)));
    const sealedEvents = async () =>
      (await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=stream.credentials_sealed`)).body.data as {
        targets: { id: string }[];
        metadata: Record<string, unknown>;
      }[];
    const first = await sealedEvents();
    assert.equal(first.length, 1);
    assert.equal(first[0]!.targets[0]!.id, legacy);
    assert.deepEqual(Object.keys(first[0]!.metadata), ['keyVersion'], 'the audit event carries no credential');
    assert.equal(
      (await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${legacy}/test`)).body.ok,
      true,
      'the sealed credential still authenticates',
    );
    await deliverAll(t);
    assert.equal((await sealedEvents()).length, 1, 'idempotent: nothing left to seal');

    // Two processes sealing at once: each row is sealed exactly once.
    for (const id of [legacy, ids.hec])
      await t.db.database.db
        .updateTable('audit_streams')
        .set({ secret: HEC_TOKEN, secret_ct: null, secret_key_version: null })
        .where('id', '=', id)
        .execute();
    const runs = await Promise.all([sealLegacyStreamSecrets(t.system), sealLegacyStreamSecrets(t.system)]);
    assert.equal(runs[0].sealed + runs[1].sealed, 2);
    assert.equal((await sealedEvents()).length, 3);
    for (const id of [legacy, ids.hec]) assert.equal((await streamRow(t, id)).secret, null);
    await owner.delete(`/api/v1/orgs/${orgId}/audit-streams/${legacy}`);
  });

  test('a crypto-shredded organization: delivery fails with a clear last error instead of crashing or sending an empty credential', async () => {
    const { orgId: shredOrg, owner: shredOwner } = await t.seedOrg('Shredded', 'owner@shredded.example');
    const hec = (
      await create(shredOwner, shredOrg, { name: 'Splunk', kind: 'splunk_hec', url: siem.url, token: HEC_TOKEN })
    ).stream.id;
    const shred = await shredOwner.post(`/api/v1/orgs/${shredOrg}/encryption/shred`, { confirm: shredOrg });
    assert.equal(shred.status, 200, shred.raw.body);
    const rejected = siem.rejected.length;
    const s = await deliverAll(t);
    assert.ok(s.failed >= 1);
    const health = await shredOwner.get(`/api/v1/orgs/${shredOrg}/audit-streams/${hec}`);
    assert.equal(health.body.status, 'dead_letter');
    assert.match(
      health.body.health.lastError,
      /^stream_credential_shredded: .*crypto-shredded.*enter the token again.*retry/,
    );
    assert.equal(siem.rejected.length, rejected, 'no request went out with an empty token');
    const tested = await shredOwner.post(`/api/v1/orgs/${shredOrg}/audit-streams/${hec}/test`);
    assert.equal(tested.status, 200);
    assert.match(tested.body.error, /stream_credential_shredded/);
    // Other organizations' destinations are unaffected.
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}`)).body.status, 'active');
    // Entering the token again seals it under a new data key; delivery resumes after retry.
    assert.equal(
      (await shredOwner.patch(`/api/v1/orgs/${shredOrg}/audit-streams/${hec}`, { token: HEC_TOKEN })).status,
      200,
    );
    assert.equal(Number((await streamRow(t, hec)).secret_key_version), 2);
    await shredOwner.post(`/api/v1/orgs/${shredOrg}/audit-streams/${hec}/retry`);
    t.clock.advance(10 * 60_000);
    await deliverAll(t);
    const healthy = await shredOwner.get(`/api/v1/orgs/${shredOrg}/audit-streams/${hec}`);
    assert.equal(healthy.body.health.state, 'healthy', JSON.stringify(healthy.body.health));
  });

  test('credentials never reach a log line, even at trace level', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const app = await buildApp({
      database: t.db.database,
      config: { ...t.config, logLevel: 'trace' },
      clock: t.clock,
      logStream,
    });
    try {
      const agent = new Agent(app, 'owner@sealed.example');
      assert.equal(
        (await agent.post('/api/v1/auth/login', { email: 'owner@sealed.example', password: TEST_PASSWORD })).status,
        200,
      );
      const created = await agent.post(`/api/v1/orgs/${orgId}/audit-streams`, {
        name: 'Logged hook',
        kind: 'webhook',
        url: `${siem.url}/hook`,
      });
      const secret: string = created.body.webhookSecret;
      const newToken = 'hec-token-that-must-not-be-logged-42';
      await agent.patch(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}`, { token: newToken });
      await agent.post(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}/test`);
      await agent.post(`/api/v1/orgs/${orgId}/audit-streams/${created.body.stream.id}/test`);
      await agent.get(`/api/v1/orgs/${orgId}/audit-streams`);
      await agent.patch(`/api/v1/orgs/${orgId}/audit-streams/${ids.hec}`, { token: HEC_TOKEN });
      const all = lines.join('\n');
      assert.ok(lines.length > 5, 'requests were logged');
      for (const s of [secret, newToken, HEC_TOKEN, DD_KEY, webhookSecret!])
        assert.ok(!all.includes(s), `a log line contains ${s.slice(0, 10)}…`);
      await agent.delete(`/api/v1/orgs/${orgId}/audit-streams/${created.body.stream.id}`);
    } finally {
      await app.close();
    }
  });
});

/** A TCP listener that counts connections and bytes: stands in for a syslog receiver where only "was it contacted" matters. */
async function tcpSink(
  host: string,
  port = 0,
): Promise<{ port: number; connections: number; bytes: number; close(): Promise<void> }> {
  const sink = { port: 0, connections: 0, bytes: 0, close: async (): Promise<void> => undefined };
  const server: Server = createTcpServer((socket) => {
    sink.connections++;
    socket.on('data', (b: Buffer) => (sink.bytes += b.length));
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  sink.port = (server.address() as AddressInfo).port;
  sink.close = () => new Promise<void>((r) => server.close(() => r()));
  return sink;
}

describe('SIEM destinations and the outbound policy (SSRF)', () => {
  let strict: TestApp;
  let witness: WitnessServer;

  before(async () => {
    // The default policy, as an installation without PALISADE_OUTBOUND_ALLOW_CIDRS has it.
    strict = await createTestApp({ auditStreamsAllowHttp: true, outboundAllowCidrs: [] });
    witness = await startWitness('127.0.0.1');
  });
  after(async () => {
    await witness?.close();
    await strict?.close();
  });

  test('destinations on loopback, link-local, cloud metadata or unspecified addresses are refused at creation with a clear 400', async () => {
    const { orgId, owner } = await strict.seedOrg('Attacker', 'owner@attacker.example');
    const p = witness.port;
    const http = [
      `http://127.0.0.1:${p}/hook`,
      `http://localhost:${p}/hook`,
      `http://[::1]:${p}/hook`,
      `http://[::ffff:127.0.0.1]:${p}/hook`,
      `http://169.254.169.254/latest/meta-data/iam/security-credentials/`,
      `http://2130706433:${p}/`,
      `http://0177.0.0.1:${p}/`,
      `http://0x7f000001:${p}/`,
      `http://0.0.0.0:${p}/`,
      `http://[fe80::1]/`,
      `http://[::ffff:169.254.169.254]/`,
      `https://[fd00:ec2::254]/`,
    ];
    const refused = async (body: Record<string, unknown>, address: RegExp) => {
      const res = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.raw.body}`);
      assert.equal(res.body.error.code, 'destination_address_denied');
      assert.match(res.body.error.message, /PALISADE_OUTBOUND_ALLOW_CIDRS=/);
      assert.match(res.body.error.message, address);
    };
    for (const url of http)
      await refused(
        { name: 'x', kind: 'webhook', url },
        /127\.0\.0\.1|::1|169\.254\.169\.254|0\.0\.0\.0|fe80::1|fd00:ec2::254/,
      );
    await refused(
      { name: 'x', kind: 'splunk_hec', url: `http://localhost:${p}`, token: 'some-hec-token' },
      /localhost, which resolves to 127\.0\.0\.1/,
    );
    await refused(
      { name: 'x', kind: 'datadog', url: `http://169.254.169.254/api/v2/logs`, token: 'some-dd-key' },
      /169\.254\.169\.254, a cloud metadata/,
    );
    for (const host of [
      '127.0.0.1',
      'localhost',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
      '2130706433',
      '0177.0.0.1',
      '169.254.169.254',
      '0.0.0.0',
    ]) {
      await refused({ name: 'x', kind: 'syslog_tcp', host, port: p }, /127\.0\.0\.1|::1|169\.254\.169\.254|0\.0\.0\.0/);
      await refused({ name: 'x', kind: 'syslog_tls', host, port: p }, /127\.0\.0\.1|::1|169\.254\.169\.254|0\.0\.0\.0/);
    }
    const bad = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'x',
      kind: 'syslog_tcp',
      host: 'user@127.0.0.1',
      port: p,
    });
    assert.equal(bad.body.error.code, 'invalid_host');
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}/audit-streams`)).body.data.length, 0, 'nothing was stored');
    assert.equal(witness.connections, 0, 'nothing was contacted');

    // Private networks are where self-hosted SIEMs live: allowed by default (nothing is contacted at creation).
    const priv = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'corp syslog',
      kind: 'syslog_tcp',
      host: '10.20.30.40',
      port: 514,
    });
    assert.equal(priv.status, 201, priv.raw.body);
    // A numeric host is stored the way it will be connected to.
    const octal = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'corp syslog 2',
      kind: 'syslog_tcp',
      host: '012.0.0.1',
      port: 514,
    });
    assert.equal(octal.body.stream.settings.host, '10.0.0.1');
  });

  test('PALISADE_OUTBOUND_DENY_PRIVATE refuses private destinations too, and says how to allow one', async () => {
    const t = await createTestApp({ outboundAllowCidrs: [], outboundDenyPrivate: true });
    try {
      const { orgId, owner } = await t.seedOrg('Locked down', 'owner@locked.example');
      const res = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
        name: 'corp',
        kind: 'syslog_tcp',
        host: '192.168.10.5',
        port: 514,
      });
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'destination_address_denied');
      assert.match(
        res.body.error.message,
        /private-network address.*PALISADE_OUTBOUND_DENY_PRIVATE=true.*PALISADE_OUTBOUND_ALLOW_CIDRS=192\.168\.10\.5\/32/,
      );
    } finally {
      await t.close();
    }
  });

  describe('at connection time (DNS can change after creation)', () => {
    let t: TestApp;
    let siem: FakeSiem;
    let sink: Awaited<ReturnType<typeof tcpSink>>;
    let rebound: WitnessServer;
    let reboundSink: Awaited<ReturnType<typeof tcpSink>>;
    let secret: string | null = null;
    const dns = new Dnsmasq();
    let orgId: string;
    let owner: Agent;
    const ids = { hook: '', syslog: '' };

    before(async () => {
      // An operator allowed exactly the receivers' address; the rest of loopback stays denied.
      t = await createTestApp({ auditStreamsAllowHttp: true, outboundAllowCidrs: ['127.0.0.1/32'] });
      siem = await startFakeSiem({
        hecToken: 'unused-token',
        ddApiKey: 'unused',
        webhookSecret: () => secret,
        now: () => t.clock.now(),
      });
      sink = await tcpSink('127.0.0.1');
      // Listeners on the address the names will be rebound to, same ports: any connection there would be counted.
      rebound = await startWitness('127.0.0.2', siem.port);
      reboundSink = await tcpSink('127.0.0.2', sink.port);
      await dns.serve(['host-record=siem.palisade.test,127.0.0.1', 'host-record=syslog.palisade.test,127.0.0.1']);
      setOutboundResolver(t.config, dnsmasqResolver(dns));
      ({ orgId, owner } = await t.seedOrg('Rebound', 'owner@rebound.example'));
    });
    after(async () => {
      await Promise.all([siem?.stop(), sink?.close(), rebound?.close(), reboundSink?.close(), dns.close()]);
      await t?.close();
    });

    test('a name that resolved to an allowed address at creation and to a denied one later is refused at delivery; the job keeps running', async () => {
      const hook = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
        name: 'hook by name',
        kind: 'webhook',
        url: `http://siem.palisade.test:${siem.port}/hook`,
      });
      assert.equal(hook.status, 201, hook.raw.body);
      ids.hook = hook.body.stream.id;
      secret = hook.body.webhookSecret;
      const syslog = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
        name: 'syslog by name',
        kind: 'syslog_tcp',
        host: 'syslog.palisade.test',
        port: sink.port,
      });
      assert.equal(syslog.status, 201, syslog.raw.body);
      ids.syslog = syslog.body.stream.id;
      await activity(t, orgId, 5, 'before rebinding');
      assert.equal((await deliverAll(t)).failed, 0);
      assert.ok(siem.webhook.length >= 1 && sink.bytes > 0, 'both receivers got the events through the names');

      // The attacker's DNS now answers with another loopback address.
      await dns.serve(['host-record=siem.palisade.test,127.0.0.2', 'host-record=syslog.palisade.test,127.0.0.2']);
      // A kept-alive connection still goes to the address checked when it was opened; restarting the receiver drops it, so the next delivery resolves again.
      await siem.stop();
      await siem.start();
      await activity(t, orgId, 5, 'after rebinding');
      const s = await deliverAll(t);
      assert.equal(s.failed, 2);
      for (const [id, name] of [
        [ids.hook, 'siem'],
        [ids.syslog, 'syslog'],
      ] as const) {
        const h = await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${id}`);
        assert.equal(h.body.health.state, 'retrying');
        assert.match(
          h.body.health.lastError,
          new RegExp(
            `^destination_address_denied: Palisade refused to connect to ${name}\\.palisade\\.test, which resolves to 127\\.0\\.0\\.2, a loopback address.*PALISADE_OUTBOUND_ALLOW_CIDRS=127\\.0\\.0\\.2/32`,
          ),
        );
        assert.ok(h.body.health.lag >= 5);
      }
      const tested = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${ids.hook}/test`);
      assert.equal(tested.body.ok, false);
      assert.match(tested.body.error, /destination_address_denied/);
      const failed = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=stream.delivery_failed`);
      assert.ok(
        failed.body.data.every((e: { metadata: { error: string } }) =>
          /destination_address_denied/.test(e.metadata.error),
        ),
      );
      assert.equal(rebound.connections + reboundSink.connections, 0, 'the rebound address was never contacted');

      // The name points back: delivery resumes from the cursor, nothing lost.
      await dns.serve(['host-record=siem.palisade.test,127.0.0.1', 'host-record=syslog.palisade.test,127.0.0.1']);
      t.clock.advance(10 * 60_000);
      assert.equal((await deliverAll(t)).failed, 0);
      await deliverAll(t); // the stream.recovered events themselves
      for (const id of [ids.hook, ids.syslog])
        assert.equal((await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${id}`)).body.health.lag, 0);
    });

    test('an HTTP destination that redirects is not followed (the redirect could point anywhere)', async () => {
      const hop = await startWitness('127.0.0.1');
      hop.handle = (_req, res) =>
        res.writeHead(307, { location: `http://127.0.0.2:${siem.port}/hook`, connection: 'close' }).end();
      try {
        const res = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
          name: 'redirecting',
          kind: 'webhook',
          url: `${hop.url}/hook`,
        });
        const tested = await owner.post(`/api/v1/orgs/${orgId}/audit-streams/${res.body.stream.id}/test`);
        assert.equal(tested.body.ok, false);
        assert.equal(tested.body.status, 307);
        assert.match(
          tested.body.error,
          /HTTP 307 \(redirects are not followed; set the destination URL to the final address/,
        );
        assert.equal(hop.requests.length, 1);
        assert.equal(rebound.connections, 0);
        await owner.delete(`/api/v1/orgs/${orgId}/audit-streams/${res.body.stream.id}`);
      } finally {
        await hop.close();
      }
    });
  });
});
