import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * Errors raised outside any route — by Node's HTTP parser (431, malformed requests), by the router
 * (a URL that is not UTF-8, an over-long path parameter, a method the path does not serve) and by
 * body parsing (too large, malformed, empty) — answer in the one documented shape with a request id,
 * over a real TCP socket where the parser is involved.
 */
describe('framework-level errors use the one error shape', () => {
  let t: TestApp;
  let port: number;
  let orgId: string;
  let cookie: string;
  let csrf: string;

  before(async () => {
    t = await createTestApp();
    const org = await t.seedOrg('Shapes', 'owner@shapes.example');
    orgId = org.orgId;
    cookie = org.owner.cookie as string;
    csrf = org.owner.csrf as string;
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  after(() => t.close());

  /** Sends raw bytes and returns the status line, headers and body of the answer. */
  const raw = (request: string | Buffer) =>
    new Promise<{ status: number; headers: Record<string, string>; body: string }>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let data = '';
      socket.on('data', (b) => (data += b.toString('utf8')));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head = '', body = ''] = data.split('\r\n\r\n');
        const [statusLine = '', ...lines] = head.split('\r\n');
        const headers = Object.fromEntries(
          lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
      });
      socket.write(request);
      setTimeout(() => socket.end(), 500);
    });

  const assertShape = (body: string, status: number, code: string, where: string) => {
    const parsed = JSON.parse(body) as { error: { code: string; message: string; requestId: string } };
    assert.equal(parsed.error.code, code, where);
    assert.match(parsed.error.requestId, /^req_/, where);
    assert.ok(parsed.error.message.length > 30, `${where}: the message says what to do`);
    assert.deepEqual(Object.keys(parsed), ['error'], where);
    assert.ok(status >= 400 && status < 500, where);
  };

  test('431: headers larger than the server accepts', async () => {
    const res = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(res.status, 431);
    assert.match(res.headers['content-type'] ?? '', /application\/json/);
    assert.match(res.headers['x-request-id'] ?? '', /^req_/);
    assertShape(res.body, res.status, 'headers_too_large', '431');
    assert.equal(JSON.parse(res.body).error.requestId, res.headers['x-request-id']);
  });

  test('a URL longer than the header budget is the same 431, not a bare socket close', async () => {
    const res = await raw(`GET /api/v1/orgs/${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(res.status, 431);
    assertShape(res.body, res.status, 'headers_too_large', 'long URL');
  });

  test('400: a request that is not HTTP', async () => {
    const res = await raw('THIS IS NOT HTTP\r\n\r\n');
    assert.equal(res.status, 400);
    assertShape(res.body, res.status, 'bad_request', 'garbage');
  });

  test('414: a path parameter longer than any id; 400: a URL that is not UTF-8', async () => {
    const long = await t.app.inject({ method: 'GET', url: `/api/v1/orgs/${'o'.repeat(600)}`, headers: { cookie } });
    assert.equal(long.statusCode, 414);
    assertShape(long.body, long.statusCode, 'uri_too_long', '414');
    assert.equal(long.headers['x-request-id'], long.json().error.requestId);
    const bad = await t.app.inject({ method: 'GET', url: `/api/v1/orgs/%E0%A4%A/members`, headers: { cookie } });
    assert.equal(bad.statusCode, 400);
    assertShape(bad.body, bad.statusCode, 'invalid_url', 'bad url');
    // Under /scim/v2 the same errors come in SCIM's shape.
    const scim = await t.app.inject({ method: 'GET', url: `/scim/v2/dir/Users/${'u'.repeat(600)}` });
    assert.equal(scim.statusCode, 414);
    assert.deepEqual(scim.json().schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
    assert.equal(scim.json().status, '414');
  });

  test('413, malformed JSON, a JSON body that is empty, and a prototype key', async () => {
    const headers = { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' };
    const big = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/${orgId}/members`,
      headers,
      payload: `{"email":"${'a'.repeat(1_100_000)}"}`,
    });
    assert.equal(big.statusCode, 413);
    assertShape(big.body, big.statusCode, 'body_too_large', '413');
    const broken = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/${orgId}/members`,
      headers,
      payload: '{"email": "a@b.example",}',
    });
    assert.equal(broken.statusCode, 400);
    assertShape(broken.body, broken.statusCode, 'invalid_json', 'malformed');
    assert.match(broken.json().error.message, /at character 25/);
    // An empty body is no body: the route's schema then says a body is required.
    const empty = await t.app.inject({ method: 'POST', url: `/api/v1/orgs/${orgId}/members`, headers, payload: '' });
    assert.equal(empty.statusCode, 400);
    assertShape(empty.body, empty.statusCode, 'invalid_request', 'empty');
    const proto = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/${orgId}/members`,
      headers,
      payload: '{"email":"p@shapes.example","__proto__":{"role":"primary_owner"}}',
    });
    assert.equal(proto.statusCode, 400);
    assertShape(proto.body, proto.statusCode, 'forbidden_key', 'proto');
    const members = await t.app.inject({ method: 'GET', url: `/api/v1/orgs/${orgId}/members`, headers: { cookie } });
    assert.ok(
      !members.json().data.some((m: { email: string }) => m.email === 'p@shapes.example'),
      'nothing was created',
    );
  });

  test('a DELETE with Content-Type: application/json and no body is a DELETE', async () => {
    const token = await t.app.inject({
      method: 'POST',
      url: '/api/v1/me/tokens',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      payload: { name: 'tmp' },
    });
    assert.equal(token.statusCode, 201, token.body);
    const id = token.json().apiToken.id as string;
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/me/tokens/${id}`,
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      payload: '',
    });
    assert.equal(del.statusCode, 200, del.body);
    assert.notEqual(del.json().revokedAt, null);
  });

  test('405 with Allow for a path that exists with other methods; 404 for one that does not', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/orgs/${orgId}/members`,
      headers: { cookie, 'x-csrf-token': csrf },
    });
    assert.equal(res.statusCode, 405);
    assertShape(res.body, res.statusCode, 'method_not_allowed', '405');
    assert.equal(res.headers.allow, 'GET, HEAD, POST');
    assert.deepEqual(res.json().error.details.allowed, ['GET', 'HEAD', 'POST']);
    const missing = await t.app.inject({ method: 'GET', url: '/api/v1/nothing-here' });
    assert.equal(missing.statusCode, 404);
    assertShape(missing.body, missing.statusCode, 'route_not_found', '404');
  });

  test('NUL and lone surrogates are refused at validation on the JSON API, naming the field', async () => {
    const headers = { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' };
    const lone = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/${orgId}`,
      headers,
      payload: '{"name":"Shapes \\ud800"}',
    });
    assert.equal(lone.statusCode, 400);
    assertShape(lone.body, lone.statusCode, 'invalid_text', 'lone');
    assert.deepEqual(lone.json().error.details, { location: 'body', field: 'name', problem: 'lone_surrogate' });
    const nul = await t.app.inject({
      method: 'GET',
      url: `/api/v1/orgs/${orgId}/audit-events?action=a%00b`,
      headers: { cookie },
    });
    assert.equal(nul.statusCode, 400);
    assertShape(nul.body, nul.statusCode, 'invalid_text', 'nul');
    assert.equal(nul.json().error.details.location, 'query');
    const deep = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/${orgId}`,
      headers,
      payload: `${'['.repeat(5000)}${']'.repeat(5000)}`,
    });
    assert.equal(deep.statusCode, 400);
    assertShape(deep.body, deep.statusCode, 'too_deep', 'deep');
    const org = await t.app.inject({ method: 'GET', url: `/api/v1/orgs/${orgId}`, headers: { cookie } });
    assert.equal(org.json().name, 'Shapes');
  });
});
