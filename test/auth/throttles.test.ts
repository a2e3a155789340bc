import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, TEST_PASSWORD, type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * Limits that hold under bursts: a slot is taken before the work it limits (the password check),
 * atomically, so simultaneous requests cannot outrun the limit; windows slide, so a lock does not
 * lift at a clock boundary seconds after it started; bad bearer secrets of every kind are throttled
 * per client network with 429 and Retry-After.
 */
describe('throttles: atomic, sliding, and for every kind of bad token', () => {
  let t: TestApp;
  let acme: { orgId: string; owner: Agent };
  const failedLogins = async (email: string) =>
    (
      await t.db.database.db
        .selectFrom('audit_events')
        .select('id')
        .where('action', '=', 'auth.login_failed')
        .where('actor_email', '=', email)
        .execute()
    ).length;

  before(async () => {
    t = await createTestApp({ badTokenMaxPerIp: 5, badTokenWindowSeconds: 60 });
    acme = await t.seedOrg('Acme', 'owner@acme.test');
    await t.addMember(acme.owner, acme.orgId, 'burst@acme.test', 'member');
  });
  after(() => t.close());

  test('a burst of 60 simultaneous wrong passwords for one account gets at most 5 password checks; the rest are 429', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        t
          .anonymous(`192.0.2.${(i % 50) + 1}`)
          .post('/api/v1/auth/login', { email: 'burst@acme.test', password: `wrong guess ${i}` }),
      ),
    );
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, 5, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 55);
    assert.equal(await failedLogins('burst@acme.test'), 5, 'exactly 5 passwords were evaluated (one audit event each)');
    const refused = results.find((r) => r.status === 429)!;
    assert.equal(refused.body.error.code, 'too_many_login_attempts');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    // The right password is refused too while the account is locked: guessing it in the burst is pointless.
    assert.equal(
      (
        await t
          .anonymous('192.0.2.99')
          .post('/api/v1/auth/login', { email: 'burst@acme.test', password: TEST_PASSWORD })
      ).status,
      429,
    );
  });

  test('the lock slides: failures just before a window boundary still count just after it', async () => {
    const windowMs = t.config.loginThrottleWindowMinutes * 60_000;
    // Move to 10 seconds before a boundary, fail 5 times, then step over the boundary.
    const now = t.clock.now().getTime();
    t.clock.set(new Date((Math.floor(now / windowMs) + 3) * windowMs - 10_000));
    for (let i = 0; i < 5; i++)
      assert.equal(
        (
          await t
            .anonymous('198.51.100.40')
            .post('/api/v1/auth/login', { email: 'owner@acme.test', password: `nope ${i}` })
        ).status,
        401,
      );
    t.clock.advance(20_000);
    const after = await t
      .anonymous('198.51.100.40')
      .post('/api/v1/auth/login', { email: 'owner@acme.test', password: TEST_PASSWORD });
    assert.equal(after.status, 429, 'a fixed window would have unlocked the account 10 seconds after it was locked');
    // One failure ages out after a fifth of a window (the oldest fifth of the previous window's weight).
    t.clock.advance(windowMs / 5);
    assert.equal(
      (
        await t
          .anonymous('198.51.100.40')
          .post('/api/v1/auth/login', { email: 'owner@acme.test', password: TEST_PASSWORD })
      ).status,
      200,
    );
  });

  test('a correct password gives its slots back: many people behind one address sign in freely', async () => {
    for (let i = 0; i < 30; i++)
      assert.equal(
        (
          await t
            .anonymous('203.0.113.200')
            .post('/api/v1/auth/login', { email: 'owner@acme.test', password: TEST_PASSWORD })
        ).status,
        200,
        `sign-in ${i + 1}`,
      );
  });

  test('bad personal API tokens from one network: 429 with Retry-After past the limit; valid tokens and other networks are unaffected', async () => {
    const valid = (await acme.owner.post('/api/v1/me/tokens', { name: 'ok' })).body.token as string;
    const bad = (ip: string) => {
      const a = new Agent(t.app, 'x', ip);
      a.bearer = `pls_pat_${'A'.repeat(43)}`;
      return a.get('/api/v1/me');
    };
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await bad('198.51.100.50')).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
    const refused = await bad('198.51.100.50');
    assert.equal(refused.body.error.code, 'too_many_invalid_tokens');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    // A valid token is always served, even from that network: one misconfigured script must not
    // lock out everyone behind the same address.
    const good = new Agent(t.app, 'owner', '198.51.100.50');
    good.bearer = valid;
    assert.equal((await good.get('/api/v1/me')).status, 200);
    const elsewhere = new Agent(t.app, 'owner', '198.51.100.51');
    elsewhere.bearer = valid;
    assert.equal((await elsewhere.get('/api/v1/me')).status, 200);
    assert.equal((await bad('198.51.100.51')).status, 401, 'another network has its own budget');
  });

  test('bad SCIM tokens, gateway keys and one-time links are throttled the same way', async () => {
    const dir = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/scim/directories`, { name: 'Okta' });
    const scim = (ip: string) => {
      const a = new Agent(t.app, 'scim', ip);
      a.bearer = `pls_scim_${'B'.repeat(43)}`;
      return a.get(`/scim/v2/${dir.body.directory.id}/Users`);
    };
    const scimStatuses: number[] = [];
    for (let i = 0; i < 6; i++) scimStatuses.push((await scim('198.51.100.60')).status);
    assert.deepEqual(scimStatuses, [401, 401, 401, 401, 401, 429]);
    const scimRefused = await scim('198.51.100.60');
    const body = JSON.parse(scimRefused.raw.body) as { schemas: string[]; status: string };
    assert.deepEqual(
      [body.schemas[0], body.status],
      ['urn:ietf:params:scim:api:messages:2.0:Error', '429'],
      "in SCIM's own error shape",
    );
    assert.ok(Number(scimRefused.headers['retry-after']) > 0);

    const gateway = (ip: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/messages',
        remoteAddress: ip,
        headers: { 'x-api-key': `pls_gwk_${'C'.repeat(43)}`, 'content-type': 'application/json' },
        payload: { model: 'm', max_tokens: 1, messages: [] },
      });
    const gwStatuses: number[] = [];
    for (let i = 0; i < 6; i++) gwStatuses.push((await gateway('198.51.100.70')).statusCode);
    assert.deepEqual(gwStatuses, [401, 401, 401, 401, 401, 429]);

    const link = (ip: string) =>
      t
        .anonymous(ip)
        .post('/api/v1/auth/setup-password', { token: `pls_lnk_${'D'.repeat(43)}`, password: 'whatever passphrase' });
    const linkStatuses: number[] = [];
    for (let i = 0; i < 6; i++) linkStatuses.push((await link('198.51.100.80')).status);
    assert.deepEqual(linkStatuses, [400, 400, 400, 400, 400, 429]);
    const refusals = await t.db.database.db
      .selectFrom('audit_events')
      .select('metadata')
      .where('action', '=', 'auth.link_refused')
      .execute();
    assert.ok(refusals.length >= 5, 'each bad link is audited');
  });
});
