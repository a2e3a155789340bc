/**
 * Limits in Redis (PALISADE_REDIS_URL), against the machine's real Redis on 127.0.0.1:6379: the same
 * guarantees as the database store — atomic under bursts, sliding windows with the same arithmetic,
 * shared by every instance that uses the server — and a refusal, not an unlimited pass, when Redis
 * cannot be reached. Each run writes under a prefix of its own and deletes it afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ManualClock } from '../../src/clock.js';
import { type LimitScope, type RateLimit, takeSlot, peekRateLimit } from '../../src/http/rate-limit.js';
import { type TestApp, TEST_PASSWORD, createTestApp } from '../helpers/harness.js';

const REDIS_URL = process.env.PALISADE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('limits in Redis', () => {
  const prefix = `palisade-test-${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(REDIS_URL);
  let t: TestApp;
  let second: TestApp;
  const failedLogins = async (app: TestApp, email: string) =>
    (
      await app.db.database.db
        .selectFrom('audit_events')
        .select('id')
        .where('action', '=', 'auth.login_failed')
        .where('actor_email', '=', email)
        .execute()
    ).length;

  before(async () => {
    t = await createTestApp({ redisUrl: REDIS_URL, redisKeyPrefix: prefix });
    const acme = await t.seedOrg('Acme', 'owner@acme.test');
    await t.addMember(acme.owner, acme.orgId, 'burst@acme.test', 'member');
    await t.addMember(acme.owner, acme.orgId, 'good@acme.test', 'member');
    // Another instance: its own app and database, the same Redis server and prefix.
    second = await createTestApp({ redisUrl: REDIS_URL, redisKeyPrefix: prefix });
  });
  after(async () => {
    await t.close();
    await second.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  test('a burst of 60 simultaneous wrong passwords gets exactly 5 password checks; the counters live in Redis', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        t
          .anonymous(`198.51.100.${(i % 50) + 1}`)
          .post('/api/v1/auth/login', { email: 'burst@acme.test', password: `wrong guess ${i}` }),
      ),
    );
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 55);
    assert.equal(await failedLogins(t, 'burst@acme.test'), 5);
    assert.ok(Number(results.find((r) => r.status === 429)!.headers['retry-after']) > 0);
    assert.equal(await redis.exists(`${prefix}limit:login_account:burst@acme.test`), 1);
    const inDatabase = await t.db.database.db.selectFrom('throttle_counters').selectAll().execute();
    assert.deepEqual(inDatabase, [], 'nothing counted in the database when Redis holds the limits');
  });

  test('another instance on the same Redis sees the lock at once', async () => {
    const r = await second
      .anonymous('198.51.100.77')
      .post('/api/v1/auth/login', { email: 'burst@acme.test', password: 'one more guess' });
    assert.equal(r.status, 429);
    assert.equal(r.body.error.code, 'too_many_login_attempts');
  });

  test('a correct password gives its slots back: the account counter is cleared in Redis', async () => {
    const who = t.anonymous('198.51.100.200');
    assert.equal((await who.post('/api/v1/auth/login', { email: 'good@acme.test', password: 'wrong' })).status, 401);
    assert.equal(await redis.exists(`${prefix}limit:login_account:good@acme.test`), 1);
    assert.equal(
      (await who.post('/api/v1/auth/login', { email: 'good@acme.test', password: TEST_PASSWORD })).status,
      200,
    );
    assert.equal(await redis.exists(`${prefix}limit:login_account:good@acme.test`), 0);
    assert.equal(await redis.hget(`${prefix}limit:login_ip:198.51.100.200`, 'hits'), '1', 'the failure stays counted');
  });

  test('the sliding window decides exactly as the database store does, hit for hit', async () => {
    const clock = new ManualClock(new Date(Date.UTC(2026, 11, 2, 12, 0, 50)));
    const sqlScope: LimitScope = { db: t.db.database.db, clock, config: { redisUrl: '', redisKeyPrefix: '' } };
    const redisScope: LimitScope = { ...sqlScope, config: { redisUrl: REDIS_URL, redisKeyPrefix: prefix } };
    const rl: RateLimit = {
      bucket: 'domain_verify',
      key: `cmp_${randomBytes(3).toString('hex')}`,
      limit: 5,
      windowSeconds: 60,
    };
    // Hits around two window boundaries, including refused ones (which take no slot).
    const steps = [0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 20, 30, 45, 60, 70, 71, 72, 73, 74, 90, 130, 131, 200];
    const start = clock.now().getTime();
    const decisions: { sql: string; redis: string }[] = [];
    for (const s of steps) {
      clock.set(new Date(start + s * 1000));
      const a = await takeSlot(sqlScope, rl);
      const b = await takeSlot(redisScope, rl);
      const show = (r: Awaited<ReturnType<typeof takeSlot>>) => (r.ok ? 'ok' : `wait ${r.retryAfter}`);
      decisions.push({ sql: show(a), redis: show(b) });
      assert.deepEqual(await peekRateLimit(redisScope, rl), await peekRateLimit(sqlScope, rl), `peek at +${s} s`);
    }
    assert.deepEqual(
      decisions.map((d) => d.redis),
      decisions.map((d) => d.sql),
    );
    assert.ok(decisions.some((d) => d.sql.startsWith('wait')) && decisions.some((d) => d.sql === 'ok'));
  });

  test('Redis out of reach: limited requests are refused with 503 limits_unavailable, never let through', async () => {
    const down = await createTestApp({ redisUrl: 'redis://127.0.0.1:1', redisKeyPrefix: prefix });
    try {
      const acme = await down.seedOrg('Down', 'owner@down.test');
      await down.addMember(acme.owner, acme.orgId, 'member@down.test', 'member');
      const r = await down
        .anonymous('198.51.100.9')
        .post('/api/v1/auth/login', { email: 'member@down.test', password: 'a guess' });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'limits_unavailable');
      assert.equal(await failedLogins(down, 'member@down.test'), 0, 'the password was not checked');
    } finally {
      await down.close();
    }
  });
});
