import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createOrganization } from '../../src/membership/organizations.js';
import { Agent, TEST_PASSWORD, type TestApp, createTestApp } from '../helpers/harness.js';

describe('local sign-in, sessions, CSRF and API tokens', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('a setup link works once, sets a password and signs in with a hardened cookie', async () => {
    const { setupLink } = await createOrganization(t.system, { name: 'Link', ownerEmail: 'link@link.example' });
    assert.ok(setupLink);
    assert.match(setupLink.url, /^http:\/\/palisade\.test\/setup#token=pls_lnk_/);
    const token = new URL(setupLink.url).hash.replace('#token=', '');
    const agent = t.anonymous();
    const short = await agent.post('/api/v1/auth/setup-password', { token, password: 'short' });
    assert.equal(short.status, 400);
    assert.equal(short.body.error.code, 'password_too_short');
    const ok = await agent.post('/api/v1/auth/setup-password', { token, password: TEST_PASSWORD });
    assert.equal(ok.status, 200);
    const cookie = ok.raw.cookies.find((c) => c.name === 'palisade_session');
    assert.ok(cookie);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.notEqual(cookie.secure, true, 'plain-HTTP deployment: no Secure flag');
    const again = await t.anonymous().post('/api/v1/auth/setup-password', { token, password: TEST_PASSWORD });
    assert.equal(again.status, 400);
    assert.equal(again.body.error.code, 'invalid_or_expired_link');
    const session = await agent.get('/api/v1/auth/session');
    assert.equal(session.body.user.email, 'link@link.example');
    assert.equal(session.body.memberships[0].status, 'active');
  });

  test('an expired link is refused', async () => {
    const { setupLink } = await createOrganization(t.system, { name: 'Old', ownerEmail: 'old@old.example' });
    t.clock.advance((t.config.linkTtlHours + 1) * 3_600_000);
    const res = await t
      .anonymous()
      .post('/api/v1/auth/setup-password', { token: new URL(setupLink!.url).hash.slice(7), password: TEST_PASSWORD });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_or_expired_link');
  });

  test('Secure cookies when Palisade is served over HTTPS', async () => {
    const tls = await createTestApp({ publicUrl: 'https://palisade.example' });
    try {
      const { setupLink } = await createOrganization(tls.system, { name: 'Tls', ownerEmail: 'tls@tls.example' });
      const res = await tls
        .anonymous()
        .post('/api/v1/auth/setup-password', { token: new URL(setupLink!.url).hash.slice(7), password: TEST_PASSWORD });
      assert.equal(res.raw.cookies.find((c) => c.name === 'palisade_session')?.secure, true);
    } finally {
      await tls.close();
    }
  });

  test('wrong password and unknown email give the same answer and are audited', async () => {
    const { orgId, owner } = await t.seedOrg('Fail', 'fail@fail.example');
    const wrong = await t
      .anonymous()
      .post('/api/v1/auth/login', { email: 'fail@fail.example', password: 'wrong password!!' });
    const unknown = await t
      .anonymous()
      .post('/api/v1/auth/login', { email: 'nobody@fail.example', password: 'wrong password!!' });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.body.error.code, 'invalid_credentials');
    assert.equal(wrong.body.error.message, unknown.body.error.message);
    const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=auth.login_failed`);
    assert.equal(events.body.data.length, 1);
    assert.equal(events.body.data[0].outcome, 'failure');
    assert.equal(events.body.data[0].metadata.reason, 'wrong_password');
    assert.equal(events.body.data[0].actor.ip, '203.0.113.10');
    assert.ok(!JSON.stringify(events.body).includes('wrong password!!'), 'the attempted password is never recorded');
  });

  test('failed logins are throttled per account, then allowed again once they aged out of the sliding window', async () => {
    await t.seedOrg('Throttle', 'th@throttle.example');
    for (let i = 0; i < t.config.loginMaxFailuresPerAccount; i++) {
      const r = await new Agent(t.app, 'x', `198.51.100.${i + 1}`).post('/api/v1/auth/login', {
        email: 'th@throttle.example',
        password: 'nope nope nope',
      });
      assert.equal(r.status, 401);
    }
    // Even the right password is refused while throttled, from any address.
    const blocked = await new Agent(t.app, 'x', '198.51.100.99').post('/api/v1/auth/login', {
      email: 'th@throttle.example',
      password: TEST_PASSWORD,
    });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.error.code, 'too_many_login_attempts');
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    // Sliding window: failures age out gradually over the next window (test/auth/throttles.test.ts
    // measures it); two windows later they weigh nothing, wherever in its window the clock started.
    t.clock.advance(2 * t.config.loginThrottleWindowMinutes * 60_000);
    const ok = await new Agent(t.app, 'x', '198.51.100.99').post('/api/v1/auth/login', {
      email: 'th@throttle.example',
      password: TEST_PASSWORD,
    });
    assert.equal(ok.status, 200);
  });

  test('failed logins are throttled per network address across accounts', async () => {
    const ip = '192.0.2.77';
    for (let i = 0; i < t.config.loginMaxFailuresPerIp; i++) {
      await new Agent(t.app, 'x', ip).post('/api/v1/auth/login', {
        email: `spray${i}@spray.example`,
        password: 'password123456',
      });
    }
    const res = await new Agent(t.app, 'x', ip).post('/api/v1/auth/login', {
      email: 'another@spray.example',
      password: 'password123456',
    });
    assert.equal(res.status, 429);
    assert.match(res.body.error.message, /network address/);
  });

  test('cookie-authenticated changes need the CSRF token', async () => {
    const { orgId, owner } = await t.seedOrg('Csrf', 'c@csrf.example');
    const noToken = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/${orgId}`,
      headers: { cookie: owner.cookie! },
      payload: { name: 'Hijacked' },
    });
    assert.equal(noToken.statusCode, 403);
    assert.equal(noToken.json().error.code, 'csrf_token_invalid');
    const wrongToken = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/${orgId}`,
      headers: { cookie: owner.cookie!, 'x-csrf-token': 'x'.repeat(43) },
      payload: { name: 'Hijacked' },
    });
    assert.equal(wrongToken.statusCode, 403);
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}`)).body.name, 'Csrf');
    // Reads need no token.
    const read = await t.app.inject({
      method: 'GET',
      url: `/api/v1/orgs/${orgId}`,
      headers: { cookie: owner.cookie! },
    });
    assert.equal(read.statusCode, 200);
  });

  test('sessions expire, and logout ends them', async () => {
    const { orgId, owner } = await t.seedOrg('Expire', 'e@expire.example');
    const later = await t.login('e@expire.example');
    await later.post('/api/v1/auth/logout');
    const cookieAfterLogout = later.cookie;
    assert.equal(cookieAfterLogout, undefined);
    t.clock.advance(t.config.sessionTtlHours * 3_600_000 + 1);
    const res = await owner.get(`/api/v1/orgs/${orgId}`);
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'authentication_required');
  });

  test('a revoked session cookie no longer works', async () => {
    await t.seedOrg('Logout', 'l@logout.example');
    const agent = await t.login('l@logout.example');
    const stolen = agent.cookie!;
    await agent.post('/api/v1/auth/logout');
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: stolen } });
    assert.equal(res.statusCode, 401);
  });

  test('personal API tokens: shown once, stored hashed, usable, revocable', async () => {
    const { orgId, owner } = await t.seedOrg('Tokens', 'tok@tokens.example');
    const created = await owner.post('/api/v1/me/tokens', { name: 'ci script', expiresInDays: 30 });
    assert.equal(created.status, 201);
    const secret: string = created.body.token;
    assert.match(secret, /^pls_pat_[A-Za-z0-9_-]{43}$/);
    const stored = await t.db.database.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', created.body.apiToken.id)
      .executeTakeFirstOrThrow();
    assert.notEqual(stored.token_hash, secret);
    assert.ok(!JSON.stringify(stored).includes(secret.slice(12)));

    const list = await owner.get('/api/v1/me/tokens');
    assert.equal(list.body.data.length, 1);
    assert.ok(!JSON.stringify(list.body).includes(secret.slice(12)));
    assert.equal(list.body.data[0].prefix, secret.slice(0, 14));

    const script = new Agent(t.app, 'script');
    script.bearer = secret;
    const members = await script.get(`/api/v1/orgs/${orgId}/members`);
    assert.equal(members.status, 200);
    // Bearer calls need no CSRF token; a token cannot mint tokens.
    const mint = await script.post('/api/v1/me/tokens', { name: 'another' });
    assert.equal(mint.status, 400);
    assert.equal(mint.body.error.code, 'token_cannot_mint_token');

    const revoke = await owner.delete(`/api/v1/me/tokens/${created.body.apiToken.id}`);
    assert.equal(revoke.status, 200);
    assert.ok(revoke.body.revokedAt);
    const after = await script.get(`/api/v1/orgs/${orgId}/members`);
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'invalid_token');

    const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=api_token.*`);
    assert.deepEqual(
      events.body.data.map((e: { action: string }) => e.action),
      ['api_token.revoked', 'api_token.created'],
    );
    assert.ok(!JSON.stringify(events.body).includes(secret.slice(12)), 'token never in the audit log');
  });

  test('an expired API token stops working', async () => {
    await t.seedOrg('TokExp', 'te@tokexp.example');
    const owner = await t.login('te@tokexp.example');
    const created = await owner.post('/api/v1/me/tokens', { name: 'short', expiresInDays: 1 });
    const script = new Agent(t.app, 'script');
    script.bearer = created.body.token;
    assert.equal((await script.get('/api/v1/me')).status, 200);
    t.clock.advance(2 * 86_400_000);
    assert.equal((await script.get('/api/v1/me')).status, 401);
  });

  test('malformed Authorization headers are refused, not treated as anonymous', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: 'Basic Zm9vOmJhcg==' },
    });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'invalid_authorization_header');
    const fake = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer pls_pat_${'A'.repeat(43)}` },
    });
    assert.equal(fake.statusCode, 401);
    assert.equal(fake.json().error.code, 'invalid_token');
  });

  test('no secret or password reaches the logs, even at trace level', async () => {
    const lines: string[] = [];
    const { buildApp } = await import('../../src/app.js');
    const { Writable } = await import('node:stream');
    const logStream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const app = await buildApp({
      database: t.db.database,
      config: { ...t.config, logLevel: 'trace' },
      clock: t.clock,
      logStream,
    });
    try {
      const { setupLink } = await createOrganization(t.system, { name: 'Logs', ownerEmail: 'logs@logs.example' });
      const token = new URL(setupLink!.url).hash.slice(7);
      const agent = new Agent(app, 'logs@logs.example');
      await agent.post('/api/v1/auth/setup-password', { token, password: 'a very secret passphrase' });
      await agent.post('/api/v1/auth/login', { email: 'logs@logs.example', password: 'a very secret passphrase' });
      await agent.post('/api/v1/auth/login', { email: 'logs@logs.example', password: 'wrong secret passphrase' });
      const pat = await agent.post('/api/v1/me/tokens', { name: 'x' });
      const script = new Agent(app, 'script');
      script.bearer = pat.body.token;
      await script.get('/api/v1/me');
      await agent.get('/sso/oidc/callback?code=ONE-TIME-AUTHZ-CODE&state=xyz');
      await agent.get('/api/v1/login/discover?email=private.person%40logs.example');
      const all = lines.join('\n');
      assert.ok(!all.includes('ONE-TIME-AUTHZ-CODE'), 'query strings (OIDC codes) are not logged');
      assert.ok(!all.includes('private.person'), 'emails in query strings are not logged');
      assert.ok(all.includes('/sso/oidc/callback'), 'the path itself is logged');
      assert.ok(lines.length > 5, 'requests were logged');
      for (const secret of [
        token,
        'a very secret passphrase',
        'wrong secret passphrase',
        pat.body.token,
        agent.cookie!.split('=')[1]!,
      ]) {
        assert.ok(!all.includes(secret), `log contains a secret: ${secret.slice(0, 12)}…`);
      }
    } finally {
      await app.close();
    }
  });
});
