import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { scrubSecrets } from '../../src/http/log-redaction.js';
import { Agent, TEST_PASSWORD, type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * Request-level defences: cookie-authenticated changes must come from Palisade's own origin, and no
 * credential reaches a log line at any level, including the request headers @fastify/multipart
 * logs at trace for every upload.
 */
describe('request safety: Origin on cookie changes, secrets never logged', () => {
  let t: TestApp;
  let acme: { orgId: string; owner: Agent };
  before(async () => {
    t = await createTestApp();
    acme = await t.seedOrg('Acme', 'owner@acme.test');
  });
  after(() => t.close());

  test("a cookie-authenticated change from another origin is refused; Palisade's own origin and bearer tokens are not affected", async () => {
    const forged = await acme.owner.request(
      'PATCH',
      `/api/v1/orgs/${acme.orgId}`,
      { name: 'Forged' },
      { origin: 'https://evil.example' },
    );
    assert.equal(forged.status, 403);
    assert.equal(forged.body.error.code, 'origin_not_allowed');
    assert.match(forged.body.error.message, /evil\.example/);
    assert.match(forged.body.error.message, /PALISADE_PUBLIC_URL/);
    assert.equal(
      (await acme.owner.request('PATCH', `/api/v1/orgs/${acme.orgId}`, { name: 'Forged' }, { origin: 'null' })).status,
      403,
      'an opaque origin is refused too',
    );
    assert.equal((await acme.owner.get(`/api/v1/orgs/${acme.orgId}`)).body.name, 'Acme', 'nothing changed');
    const own = await acme.owner.request(
      'PATCH',
      `/api/v1/orgs/${acme.orgId}`,
      { name: 'Acme Corp' },
      { origin: 'http://palisade.test' },
    );
    assert.equal(own.status, 200, own.raw.body);
    const noOrigin = await acme.owner.request('PATCH', `/api/v1/orgs/${acme.orgId}`, { name: 'Acme' });
    assert.equal(noOrigin.status, 200, 'without Origin the CSRF token alone decides');
    const token = (await acme.owner.post('/api/v1/me/tokens', { name: 'script' })).body.token as string;
    const script = new Agent(t.app, 'script');
    script.bearer = token;
    assert.equal(
      (
        await script.request(
          'PATCH',
          `/api/v1/orgs/${acme.orgId}`,
          { name: 'Acme' },
          { origin: 'https://elsewhere.example' },
        )
      ).status,
      200,
      'bearer calls carry no ambient credential',
    );
  });

  test('the scrubber removes every kind of Palisade secret, bearer token and session cookie from a line', () => {
    const line = JSON.stringify({
      a: `pls_pat_${'x'.repeat(43)}`,
      b: 'Bearer abc.def.ghi-123',
      c: `cookie: palisade_session=pls_ses_${'y'.repeat(43)}; other=1`,
      d: `pls_lnk_${'z'.repeat(43)} pls_scim_${'w'.repeat(43)} pls_gwk_${'v'.repeat(43)}`,
    });
    const out = scrubSecrets(line);
    assert.ok(!/pls_(pat|ses|lnk|scim|gwk)_[A-Za-z0-9_-]{6}/.test(out), out);
    assert.ok(!out.includes('abc.def.ghi'), out);
    assert.match(out, /pls_pat_\[redacted\]/);
  });

  test('no credential reaches the logs at trace level: sign-in, links, tokens, uploads, SCIM, gateway', async () => {
    const lines: string[] = [];
    const logStream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
    const app = await buildApp({
      database: t.db.database,
      config: { ...t.config, logLevel: 'trace' },
      clock: t.clock,
      logStream,
    });
    try {
      const owner = new Agent(app, 'owner@acme.test');
      await owner.post('/api/v1/auth/login', { email: 'owner@acme.test', password: TEST_PASSWORD });
      const csrf = owner.csrf!;
      const pat = (await owner.post('/api/v1/me/tokens', { name: 'uploader' })).body.token as string;
      // A multipart upload, once with the cookie and CSRF token, once with the bearer token.
      const fd = new FormData();
      fd.append('file', new Blob(['quarterly numbers']), 'q.txt');
      const req = new Request('http://x/', { method: 'POST', body: fd });
      const payload = Buffer.from(await req.arrayBuffer());
      const type = req.headers.get('content-type') as string;
      assert.equal(
        (await owner.request('POST', `/api/v1/orgs/${acme.orgId}/files`, payload, { 'content-type': type })).status,
        201,
      );
      const script = new Agent(app, 'script');
      script.bearer = pat;
      assert.equal(
        (await script.request('POST', `/api/v1/orgs/${acme.orgId}/files`, payload, { 'content-type': type })).status,
        201,
      );
      // SCIM with its token, a gateway key, a reset request, a bad link.
      const dir = await owner.post(`/api/v1/orgs/${acme.orgId}/scim/directories`, { name: 'Okta' });
      const scim = new Agent(app, 'scim');
      scim.bearer = dir.body.token;
      await scim.get(`/scim/v2/${dir.body.directory.id}/Users`);
      const key = (await owner.post(`/api/v1/orgs/${acme.orgId}/gateway/keys`, { name: 'k' })).body.key as string;
      await app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        payload: { model: 'm', max_tokens: 1, messages: [] },
      });
      await new Agent(app, 'anon').post('/api/v1/auth/password-reset', { email: 'owner@acme.test' });
      const link = (await t.lastEmail('owner@acme.test', 'password_reset'))!.links[0]!;
      await new Agent(app, 'anon').post('/api/v1/auth/setup-password', {
        token: new URL(link).hash.slice(7),
        password: 'the new secret passphrase',
      });
      const all = lines.join('\n');
      assert.ok(lines.length > 20, 'requests were logged at trace');
      assert.ok(
        all.includes('Providing options to busboy'),
        'the multipart trace line that used to carry the headers is still written',
      );
      const secrets = [
        pat,
        csrf,
        owner.cookie!.split('=')[1]!,
        dir.body.token as string,
        key,
        new URL(link).hash.slice(7),
        TEST_PASSWORD,
        'the new secret passphrase',
      ];
      for (const s of secrets) assert.ok(!all.includes(s), `a log line contains a secret: ${s.slice(0, 12)}…`);
      assert.ok(!/pls_(ses|pat|lnk|scim|gwk)_[A-Za-z0-9_-]{20}/.test(all), 'no Palisade secret of any kind');
    } finally {
      await app.close();
    }
  });
});
