import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { reserveLoginAttempt } from '../../src/auth/throttle.js';
import { clientNetworkKey, purgeThrottleCounters } from '../../src/http/rate-limit.js';
import { rateLimitCleanupJob } from '../../src/http/jobs.js';
import { Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { Dnsmasq } from './dns-peers.js';

/**
 * Rate limits on the unauthenticated login discovery (per client network) and on manual domain
 * verification (per domain), counted in the database (shared by every process), with the default
 * limits from CONFIG_SPEC: 30 lookups and 10 checks per 60 seconds.
 */
describe('rate limits: login discovery and domain verification', () => {
  let t: TestApp;
  let a: { orgId: string; owner: Agent };
  let b: { orgId: string; owner: Agent };
  const ids: Record<string, string> = {};
  const dns = new Dnsmasq();
  const discover = (ip: string, email = 'someone@example.test') =>
    t.anonymous(ip).get(`/api/v1/login/discover?email=${encodeURIComponent(email)}`);
  const verify = (who: { orgId: string; owner: Agent }, orgId: string, id: string) =>
    who.owner.post(`/api/v1/orgs/${orgId}/domains/${id}/verify`);
  /**
   * Moves the manual clock to the start of the window after next, so each test starts with fresh
   * counters (a sliding window still weighs the previous window's hits).
   */
  const nextWindow = () => t.clock.set(new Date((Math.floor(t.clock.now().getTime() / 60_000) + 2) * 60_000));

  before(async () => {
    t = await createTestApp();
    a = await t.seedOrg('Acme', 'owner@acme.test');
    b = await t.seedOrg('Beta', 'owner@beta.test');
    const records: string[] = [];
    for (const name of ['one.test', 'two.test']) {
      const res = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: name });
      ids[name] = res.body.id;
      if (name === 'one.test') records.push(`txt-record=_palisade-challenge.${name},"${res.body.instructions.value}"`);
    }
    await dns.serve(records);
    t.config.dnsServers = [dns.server];
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test('the defaults are 30 discovery lookups per address and 10 checks per domain, per 60 seconds; bad values name the variable', () => {
    const c = loadConfig({});
    assert.deepEqual(
      [
        c.discoverMaxRequestsPerIp,
        c.discoverWindowSeconds,
        c.domainVerifyMaxAttemptsPerDomain,
        c.domainVerifyWindowSeconds,
      ],
      [30, 60, 10, 60],
    );
    assert.equal(
      loadConfig({ PALISADE_DISCOVER_MAX_REQUESTS_PER_IP: '100', PALISADE_DOMAIN_VERIFY_WINDOW_SECONDS: '300' })
        .discoverMaxRequestsPerIp,
      100,
    );
    assert.throws(
      () => loadConfig({ PALISADE_DISCOVER_MAX_REQUESTS_PER_IP: '0' }),
      /PALISADE_DISCOVER_MAX_REQUESTS_PER_IP/,
    );
    assert.throws(
      () => loadConfig({ PALISADE_DOMAIN_VERIFY_WINDOW_SECONDS: 'soon' }),
      /PALISADE_DOMAIN_VERIFY_WINDOW_SECONDS/,
    );
  });

  test('discover: the 31st lookup from one address in a minute is a 429 with Retry-After; other addresses are not affected', async () => {
    nextWindow();
    t.clock.advance(15_000);
    for (let i = 0; i < 30; i++)
      assert.equal((await discover('198.51.100.7', `person${i}@example.test`)).status, 200, `lookup ${i + 1}`);
    const refused = await discover('198.51.100.7');
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'too_many_discovery_requests');
    // Sliding window: the 30 lookups still weigh after the minute turns, until 1/30 of a window
    // (2 s) into the next one has aged one of them out: 45 + 2 seconds.
    assert.equal(refused.headers['retry-after'], '47');
    assert.equal(refused.body.error.details.retryAfterSeconds, 47);
    assert.match(refused.body.error.message, /wait 47 seconds and try again/);
    assert.match(refused.body.error.message, /30 per 60 seconds/);
    assert.equal((await discover('198.51.100.8')).status, 200, 'another address has its own budget');
    // Malformed input counts too: probing with garbage does not get around the limit.
    const garbage = await t.anonymous('198.51.100.7').get('/api/v1/login/discover?email=not-an-email');
    assert.equal(garbage.status, 429);
    t.clock.advance(45_000);
    assert.equal(
      (await discover('198.51.100.7')).status,
      429,
      'a fixed window would unlock here; the sliding window does not',
    );
    t.clock.advance(2_000);
    assert.equal(
      (await discover('198.51.100.7')).status,
      200,
      'once a lookup has aged out of the window, one more is allowed',
    );
    assert.equal((await discover('198.51.100.7')).status, 429, 'and only one');
  });

  test('discover: IPv6 clients are counted per /64, IPv4-mapped addresses as their IPv4 address', async () => {
    assert.equal(clientNetworkKey('2001:db8:1:2:aaaa::1'), '2001:0db8:0001:0002::/64');
    assert.equal(clientNetworkKey('2001:db8:1:2::ffff:1'), clientNetworkKey('2001:0db8:0001:0002:1234:5678:9abc:def0'));
    assert.notEqual(clientNetworkKey('2001:db8:1:2::1'), clientNetworkKey('2001:db8:1:3::1'));
    assert.equal(clientNetworkKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(clientNetworkKey('::1'), '0000:0000:0000:0000::/64');
    assert.equal(clientNetworkKey(null), 'unknown');
    nextWindow();
    // Rotating addresses inside one /64 does not buy more lookups.
    for (let i = 0; i < 30; i++) assert.equal((await discover(`2001:db8:7:7::${(i + 1).toString(16)}`)).status, 200);
    assert.equal((await discover('2001:db8:7:7:ffff:ffff:ffff:ffff')).status, 429);
    assert.equal((await discover('2001:db8:7:8::1')).status, 200, 'the next /64 is someone else');
  });

  test('discover: concurrent lookups cannot overshoot the limit (one atomic count per request)', async () => {
    nextWindow();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => discover('203.0.113.99', `c${i}@example.test`)),
    );
    assert.equal(results.filter((r) => r.status === 200).length, 30);
    assert.equal(results.filter((r) => r.status === 429).length, 10);
  });

  test('discover: a second Palisade process on the same database shares the counters', async () => {
    nextWindow();
    const second = await openDatabase(t.db.url);
    const other = await buildApp({ database: second, config: t.config, clock: t.clock });
    try {
      for (let i = 0; i < 20; i++) assert.equal((await discover('192.0.2.50')).status, 200);
      const viaOther = (n: number) =>
        Promise.all(
          Array.from({ length: n }, () =>
            new Agent(other, 'anonymous', '192.0.2.50').get('/api/v1/login/discover?email=x%40example.test'),
          ),
        );
      assert.deepEqual(
        (await viaOther(10)).map((r) => r.status),
        Array(10).fill(200),
      );
      const refused = (await viaOther(1))[0]!;
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.code, 'too_many_discovery_requests');
    } finally {
      await other.close();
      await second.close();
    }
  });

  test('verify: the 11th check of a domain in a minute is a 429 with Retry-After; other domains keep their budget', async () => {
    nextWindow();
    t.clock.advance(50_000);
    for (let i = 0; i < 10; i++) {
      const res = await verify(a, a.orgId, ids['two.test']!);
      assert.equal(res.status, 200, `check ${i + 1}`);
      assert.equal(res.body.verified, false);
    }
    const refused = await verify(a, a.orgId, ids['two.test']!);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'too_many_verification_attempts');
    assert.equal(refused.headers['retry-after'], '16');
    assert.match(refused.body.error.message, /two\.test/);
    assert.match(refused.body.error.message, /wait 16 seconds and try again/);
    assert.equal((await verify(a, a.orgId, ids['one.test']!)).body.verified, true, 'another domain is checked');
    // A refused check writes nothing: no audit event, no state change.
    const checked = (await a.owner.get(`/api/v1/orgs/${a.orgId}/domains/${ids['two.test']}`)).body.lastCheckedAt;
    t.clock.advance(5_000);
    assert.equal((await verify(a, a.orgId, ids['two.test']!)).status, 429);
    assert.equal((await a.owner.get(`/api/v1/orgs/${a.orgId}/domains/${ids['two.test']}`)).body.lastCheckedAt, checked);
    t.clock.advance(5_000);
    assert.equal(
      (await verify(a, a.orgId, ids['two.test']!)).status,
      429,
      'just past the minute the earlier checks still count',
    );
    t.clock.advance(6_000);
    assert.equal(
      (await verify(a, a.orgId, ids['two.test']!)).status,
      200,
      'one check has aged out of the sliding window',
    );
  });

  test('attack: another organization hammering a domain id gets 404s and uses up none of its checks', async () => {
    nextWindow();
    for (let i = 0; i < 15; i++) assert.equal((await verify(b, a.orgId, ids['two.test']!)).status, 404);
    for (let i = 0; i < 15; i++) assert.equal((await verify(b, b.orgId, ids['two.test']!)).status, 404);
    for (let i = 0; i < 10; i++)
      assert.equal((await verify(a, a.orgId, ids['two.test']!)).status, 200, `owner check ${i + 1}`);
    assert.equal((await verify(a, a.orgId, ids['two.test']!)).status, 429);
  });

  test('verify: the scheduled re-check is not counted', async () => {
    nextWindow();
    t.clock.advance(1000);
    const scheduler = createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config });
    for (let i = 0; i < 12; i++) await scheduler.runNow('domains.recheck');
    for (let i = 0; i < 10; i++)
      assert.equal((await verify(a, a.orgId, ids['one.test']!)).status, 200, `manual check ${i + 1}`);
  });

  test('old counters are purged by the rate_limits.cleanup job, sign-in counters included', async () => {
    const db = t.db.database.db;
    await reserveLoginAttempt(db, t.clock, t.config, 'old@one.test', '203.0.113.7');
    const count = async () =>
      Number(
        (
          await db
            .selectFrom('throttle_counters')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    assert.ok(before >= 2, 'discovery, verification and sign-in counters exist');
    assert.deepEqual(await purgeThrottleCounters(db, t.clock.now()), { deleted: 0 }, 'current windows are kept');
    t.clock.advance(3 * 86_400_000);
    await reserveLoginAttempt(db, t.clock, t.config, 'new@one.test', null);
    assert.equal(rateLimitCleanupJob().name, 'rate_limits.cleanup');
    assert.deepEqual(await rateLimitCleanupJob().run(t.system), { deleted: before });
    const left = await db.selectFrom('throttle_counters').select(['bucket', 'key']).orderBy('bucket').execute();
    assert.deepEqual(
      left.map((r) => `${r.bucket}:${r.key}`),
      ['login_account:new@one.test', 'login_ip:unknown'],
    );
  });
});
