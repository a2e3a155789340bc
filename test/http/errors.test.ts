import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../helpers/harness.js';

/** Every error has the same shape, a stable code and a request id; no input produces a 500. */
describe('errors and hostile input', () => {
  let t: TestApp;
  let orgId: string;
  before(async () => {
    t = await createTestApp();
    ({ orgId } = await t.seedOrg('Errors', 'owner@errors.example'));
  });
  after(() => t.close());

  const assertErrorShape = (body: any, status: number, where: string) => {
    assert.equal(typeof body?.error?.code, 'string', where);
    assert.match(body.error.code, /^[a-z][a-z0-9_]*$/, where);
    assert.ok(body.error.message.length > 20, `${where}: message should say what to do`);
    assert.match(body.error.requestId, /^req_/, where);
    assert.ok(!/at .*\.(ts|js):\d+/.test(JSON.stringify(body)), `${where}: no stack traces`);
    assert.ok(status >= 400 && status < 500, `${where}: ${status}`);
  };

  test('unknown routes, bad JSON, wrong content types and schema violations', async () => {
    const owner = await t.login('owner@errors.example');
    const cases = [
      { res: await owner.get('/api/v1/nope'), code: 'route_not_found', status: 404 },
      {
        res: await owner.request('POST', `/api/v1/orgs/${orgId}/members`, '{"email":', {
          'content-type': 'application/json',
        }),
        code: 'invalid_json',
        status: 400,
      },
      {
        res: await owner.request('POST', `/api/v1/orgs/${orgId}/members`, 'email=x', {
          'content-type': 'application/x-www-form-urlencoded',
        }),
        code: 'unsupported_media_type',
        status: 415,
      },
      {
        res: await owner.post(`/api/v1/orgs/${orgId}/members`, { email: 'a@b.example', admin: true }),
        code: 'invalid_request',
        status: 400,
      },
      { res: await owner.get(`/api/v1/orgs/${orgId}/members?limit=100000`), code: 'invalid_request', status: 400 },
      {
        res: await owner.request(
          'POST',
          `/api/v1/orgs/${orgId}/members`,
          JSON.stringify({ email: 'x'.repeat(2 * 1024 * 1024) }),
          { 'content-type': 'application/json' },
        ),
        code: 'body_too_large',
        status: 413,
      },
    ];
    for (const { res, code, status } of cases) {
      assert.equal(res.status, status, `${code}: ${res.raw.body.slice(0, 200)}`);
      assert.equal(res.body.error.code, code);
      assertErrorShape(res.body, res.status, code);
    }
    assert.match(cases[3]!.res.body.error.message, /admin/, 'names the unexpected field');
  });

  test('a value outside a list of choices names the accepted values, not "must be equal to constant"', async () => {
    const owner = await t.login('owner@errors.example');
    const role = await owner.post(`/api/v1/orgs/${orgId}/members`, {
      email: 'choice@errors.example',
      role: 'superuser',
    });
    assert.equal(role.status, 400);
    assert.equal(role.body.error.code, 'invalid_request');
    assert.equal(
      role.body.error.message,
      'Invalid body.role: must be one of "primary_owner", "admin", "member". See /docs for the expected shape.',
    );
    assert.deepEqual(role.body.error.details, { location: 'body', field: 'role' });
    const kind = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'x',
      kind: 'syslog',
      host: '127.0.0.1',
      port: 514,
    });
    assert.match(
      kind.body.error.message,
      /^Invalid body\.kind: must be one of "syslog_tcp", "syslog_tls", "splunk_hec", "datadog", "webhook"\./,
    );
    // A number or a word: both alternatives are named.
    const days = await owner.request('PUT', `/api/v1/orgs/${orgId}/audit-settings`, { retentionDays: true });
    assert.equal(days.status, 400);
    assert.match(days.body.error.message, /^Invalid body\.retentionDays: must be integer or "forever"\./);
    // A plain type error keeps AJV's own words.
    const port = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'x',
      kind: 'syslog_tcp',
      host: '127.0.0.1',
      port: '514',
    });
    assert.match(port.body.error.message, /^Invalid body\.port: must be integer\./);
  });

  test('fuzzed bodies and query strings never produce a 500 on any route', async () => {
    const owner = await t.login('owner@errors.example');
    const members = await owner.get(`/api/v1/orgs/${orgId}/members`);
    const memberId = members.body.data[0].id;
    const shapes = (): unknown[] => [
      null,
      [],
      [1, 2],
      'string',
      12345,
      true,
      {},
      { email: null },
      { email: ['a'] },
      { email: { $ne: 1 } },
      { name: '\u0000\u202e' },
      { name: 'x'.repeat(10_000) },
      { role: 'primary_owner', email: '"><script>@x.example' },
      { password: 1, email: 2, token: {} },
      { billingEmail: 'a@b' },
      { __proto__: { admin: true }, name: 'p' },
      { constructor: { prototype: { x: 1 } } },
      Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i])),
      randomBytes(64).toString('latin1'),
    ];
    const routes = t.app.routeTable.filter((r) => r.url.startsWith('/api/'));
    let calls = 0;
    for (const r of routes) {
      const url = r.url.replace(':orgId', orgId).replace(':memberId', memberId).replace(':tokenId', 'tok_x');
      for (const body of ['GET', 'DELETE'].includes(r.method) ? [undefined] : shapes()) {
        for (const qs of [
          '',
          '?limit=abc',
          '?cursor=%00%ff',
          '?from=2026-13-45&action=%27%3B--',
          '?action=*&target=%25',
          '?order=sideways',
        ]) {
          const payload = typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body);
          const res = await t.app.inject({
            method: r.method as 'GET',
            url: url + qs,
            headers: {
              cookie: owner.cookie!,
              'x-csrf-token': owner.csrf!,
              ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
            },
            ...(payload !== undefined ? { payload } : {}),
          });
          calls++;
          assert.ok(
            res.statusCode < 500,
            `${r.method} ${url}${qs} body=${String(payload).slice(0, 60)} → ${res.statusCode} ${res.body.slice(0, 200)}`,
          );
          if (res.statusCode >= 400) assertErrorShape(res.json(), res.statusCode, `${r.method} ${url}${qs}`);
        }
      }
    }
    assert.ok(calls > 500);
    // The owner is still the owner afterwards (fuzzing may have logged out or changed roles: check the org survives).
    const org = await t.system.db
      .selectFrom('organizations')
      .select('status')
      .where('id', '=', orgId)
      .executeTakeFirstOrThrow();
    assert.ok(['active', 'deleted'].includes(org.status));
  });

  test('health, readiness, metrics and the OpenAPI document', async () => {
    const anon = t.anonymous();
    assert.deepEqual((await anon.get('/healthz')).body, { status: 'ok' });
    const ready = await anon.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.database, process.env.PALISADE_TEST_DB === 'postgres' ? 'postgres' : 'sqlite');
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /palisade_http_request_duration_seconds_bucket\{.*route="\/readyz"/);
    const doc = await anon.get('/openapi.json');
    assert.equal(doc.body.openapi, '3.1.0');
    assert.ok(doc.body.paths['/api/v1/orgs/{orgId}/members']);
    assert.ok(doc.body.paths['/api/v1/orgs/{orgId}/audit-events']);
    const ui = await t.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.headers['x-request-id'] as string, /^req_/);
  });
});

describe('JSON bodies are validated as sent, never coerced', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('null clears a nullable field instead of becoming "" or 0; wrong types are refused', async () => {
    const { orgId, owner } = await t.seedOrg('Nulls', 'owner@nulls.example');
    assert.equal(
      (await owner.patch(`/api/v1/orgs/${orgId}`, { billingEmail: 'pay@nulls.example' })).body.billingEmail,
      'pay@nulls.example',
    );
    const cleared = await owner.patch(`/api/v1/orgs/${orgId}`, { billingEmail: null });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.equal(cleared.body.billingEmail, null);
    const mapping = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: null,
      defaultRole: null,
      rules: [],
    });
    assert.equal(mapping.status, 200);
    assert.equal(mapping.body.requiredPrefix, null);
    assert.equal(mapping.body.defaultRole, null);
    const numberAsName = await owner.patch(`/api/v1/orgs/${orgId}`, { name: 12345 });
    assert.equal(numberAsName.status, 400);
    assert.equal(numberAsName.body.error.code, 'invalid_request');
    // Query strings are still text coerced to their types.
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}/members?limit=1`)).body.data.length, 1);
  });
});
