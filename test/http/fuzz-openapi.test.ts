import assert from 'node:assert/strict';
import { isGatewayPath } from '../../src/gateway/errors.js';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';
import { type OidcPeer, startOidcPeer } from '../sso/oidc-peer.js';

/**
 * A fuzz test driven by /openapi.json: every operation, with real ids for its path parameters (so
 * requests reach the operations, not just the router), gets hostile variants of each input — wrong
 * types, huge strings and numbers, NUL, lone surrogates, bidi controls, deep nesting, prototype keys,
 * repeated query parameters, malformed ids. It fails on any 5xx and on any error outside the shape
 * its surface documents: `{ "error": { code, message, requestId } }` for the API, the Anthropic or
 * OpenAI shape on the model gateway, SCIM's under /scim/v2/, the person-facing page (or the API shape) under /sso/.
 * A new route joins the test by being in the OpenAPI document.
 */
type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  $ref?: string;
};
type Operation = {
  method: string;
  path: string;
  params: { name: string; in: string; schema?: Schema }[];
  body: Schema | undefined;
};

/** A value the schema accepts, as plain as possible, so mutating one field leaves the rest valid. */
function sample(s: Schema | undefined, depth = 0): unknown {
  if (!s || depth > 6) return undefined;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  const alt = s.anyOf ?? s.oneOf;
  if (alt?.length) return sample(alt.find((a) => a.type !== 'null') ?? alt[0], depth + 1);
  const type = Array.isArray(s.type) ? (s.type.find((x) => x !== 'null') ?? s.type[0]) : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of s.required ?? []) out[name] = sample(s.properties?.[name], depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => sample(s.items, depth + 1));
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return false;
    case 'string':
      if (s.format === 'email') return 'fuzz@fuzz.example';
      if (s.format === 'date-time') return '2026-01-01T00:00:00Z';
      if (s.format === 'uri') return 'https://fuzz.example/x';
      return 'f'.repeat(Math.max(1, s.minLength ?? 1));
    default:
      return undefined;
  }
}

const HUGE = 'x'.repeat(100_000);
const DEEP_JSON = `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`;
/** Hostile values for one field, as JSON text (some, like 1e400 and duplicate keys, exist only as text). */
const FIELD_VALUES = [
  'null',
  'true',
  '0',
  '-1',
  '1.5',
  '1e308',
  '-1e308',
  '1e400',
  '9223372036854775808',
  '""',
  JSON.stringify(HUGE),
  '"a\\u0000b"',
  '"a\\ud800b"',
  '"\\u202egnp.exe"',
  '"<script>x</script>"',
  '"../../etc/passwd"',
  '[]',
  '[1,"a",null]',
  '{}',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  DEEP_JSON,
];
const WHOLE_BODIES = [
  'null',
  '[]',
  '"text"',
  '12345',
  '{}',
  `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
  '{"__proto__":{"admin":true}}',
  '{"a":1,"a":2}',
  '{"email":',
];
const QUERY_VALUES = [
  '',
  HUGE.slice(0, 4000),
  '-1',
  '0',
  '1e400',
  '99999999999999999999',
  '%00',
  '%ED%A0%80',
  '%ff%fe',
  'a%00b',
  'true',
  '[]',
  "' OR 1=1--",
];
const PATH_VALUES = [
  '%00',
  'a%00b',
  '%ED%A0%80',
  'x'.repeat(64),
  'x'.repeat(65),
  '..',
  '%2e%2e',
  "'%20OR%201=1--",
  '0',
  '-1',
];

/** Operations that end the session, delete the fixtures or destroy keys run last. */
const DESTRUCTIVE = (op: Operation) =>
  op.method === 'DELETE' || /\/(logout|shred|rotate|rotate-token|break-glass)$/.test(op.path);

describe('fuzzing every OpenAPI operation', () => {
  let t: TestApp;
  let up: ModelUpstream;
  let idp: OidcPeer;
  let owner: Agent;
  let ids: Record<string, string>;
  let gatewayKey: string;
  let scimToken: string;
  let operations: Operation[];
  const failures: string[] = [];
  let requests = 0;

  before(async () => {
    up = await startModelUpstream();
    // A real OpenID provider, so sign-in routes run their whole path instead of failing on an unreachable IdP.
    idp = await startOidcPeer('http://palisade.test/sso/oidc/callback', { fuzz: { email: 'fuzz@fuzz.example' } });
    t = await createTestApp();
    const a = await t.seedOrg('Fuzz', 'owner@fuzz.example');
    owner = a.owner;
    const orgId = a.orgId;
    const { memberId } = await t.addMember(owner, orgId, 'member@fuzz.example', 'admin');
    const token = await owner.post('/api/v1/me/tokens', { name: 'fuzz' });
    const domain = await owner.post(`/api/v1/orgs/${orgId}/domains`, { domain: 'fuzz-target.example' });
    const directory = await owner.post(`/api/v1/orgs/${orgId}/scim/directories`, { name: 'Fuzz IdP' });
    scimToken = directory.body.token;
    const conn = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Fuzz OIDC',
      oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
    });
    const conv = await owner.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'Fuzz' });
    const fd = new FormData();
    fd.append('file', new Blob(['fuzz file']), 'fuzz.txt');
    const req = new Request('http://x/', { method: 'POST', body: fd });
    const file = await owner.request('POST', `/api/v1/orgs/${orgId}/files`, Buffer.from(await req.arrayBuffer()), {
      'content-type': req.headers.get('content-type') as string,
    });
    const hold = await owner.post(`/api/v1/orgs/${orgId}/legal-holds`, { reason: 'fuzz' });
    assert.equal(
      (
        await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
          name: 'Loopback',
          kind: 'anthropic',
          baseUrl: up.url,
          apiKey: 'sk-fuzz',
        })
      ).status,
      200,
    );
    const key = await owner.post(`/api/v1/orgs/${orgId}/gateway/keys`, { name: 'fuzz' });
    gatewayKey = key.body.key;
    const stream = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'Fuzz SIEM',
      kind: 'webhook',
      url: 'https://siem.fuzz.example/hook',
    });
    ids = {
      orgId,
      memberId,
      tokenId: token.body.apiToken.id,
      domainId: domain.body.id,
      directoryId: directory.body.directory.id,
      connectionId: conn.body.id,
      conversationId: conv.body.id,
      fileId: file.body.id,
      holdId: hold.body.id,
      keyId: key.body.gatewayKey.id,
      streamId: stream.body.stream.id,
    };
    for (const [name, id] of Object.entries(ids)) assert.ok(id, `fixture ${name}`);

    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<
          string,
          { parameters?: Operation['params']; requestBody?: { content?: Record<string, { schema?: Schema }> } }
        >
      >;
    };
    operations = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        operations.push({
          method: method.toUpperCase(),
          path,
          params: op.parameters ?? [],
          body: op.requestBody?.content?.['application/json']?.schema,
        });
      }
    }
    operations.sort((x, y) => Number(DESTRUCTIVE(x)) - Number(DESTRUCTIVE(y)));
  });
  after(async () => {
    await t.close();
    await up.close();
    await idp.close();
  });

  const shapeProblem = (op: Operation, res: LightMyRequestResponse, url = op.path): string | undefined => {
    if (res.statusCode >= 500) return `${res.statusCode}`;
    if (res.statusCode < 400) return undefined;
    const type = String(res.headers['content-type'] ?? '');
    if (op.path.startsWith('/sso/') && type.startsWith('text/html'))
      return res.headers['x-sso-reference'] ? undefined : 'an HTML error page without a reference';
    if (!type.includes('json')) return `content-type ${type}`;
    let body: Record<string, any>;
    try {
      body = JSON.parse(res.body) as Record<string, any>;
    } catch {
      return 'a body that is not JSON';
    }
    // The gateway answers in the provider's shape: Anthropic's (the fuzz sends anthropic-version), OpenAI's for chat completions.
    if (isGatewayPath(op.path) && op.path !== '/v1/chat/completions')
      return body.type === 'error' && typeof body.error?.type === 'string' && typeof body.error?.message === 'string'
        ? undefined
        : 'not the Anthropic error shape';
    // SCIM answers in SCIM's error shape (RFC 7644 §3.12); a path that `..` took out of /scim/v2/ is the API's.
    if (new URL(url, 'http://x').pathname.startsWith('/scim/v2/'))
      return Array.isArray(body.schemas) &&
        body.schemas.includes('urn:ietf:params:scim:api:messages:2.0:Error') &&
        body.status === String(res.statusCode) &&
        typeof body.detail === 'string' &&
        body.detail.length >= 15
        ? undefined
        : 'not the SCIM error shape';
    if (op.path === '/v1/chat/completions')
      return typeof body.error?.message === 'string' && typeof body.error?.code === 'string'
        ? undefined
        : 'not the OpenAI error shape';
    const e = body.error;
    if (
      !e ||
      typeof e.code !== 'string' ||
      !/^[a-z][a-z0-9_]*$/.test(e.code) ||
      typeof e.message !== 'string' ||
      e.message.length < 15 ||
      !/^req_/.test(String(e.requestId))
    )
      return 'not the error shape';
    if (Object.keys(body).length !== 1) return 'extra top-level keys';
    if (/at .*\.(ts|js):\d+/.test(res.body)) return 'a stack trace';
    return undefined;
  };

  const send = async (
    op: Operation,
    pathValues: Record<string, string>,
    query: string,
    body: string | undefined,
    what: string,
  ) => {
    const url = op.path.replace(/\{(\w+)\}/g, (_, name: string) => pathValues[name] ?? ids[name] ?? 'missing') + query;
    const headers: Record<string, string> = { cookie: owner.cookie as string, 'x-csrf-token': owner.csrf as string };
    if (isGatewayPath(op.path)) {
      headers['x-api-key'] = gatewayKey;
      headers['anthropic-version'] = '2023-06-01';
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: LightMyRequestResponse;
    try {
      res = await t.app.inject({
        method: op.method as 'GET',
        url,
        headers,
        ...(body !== undefined ? { payload: body } : {}),
      });
    } catch (err) {
      failures.push(`${op.method} ${url.slice(0, 150)} [${what}] threw ${(err as Error).message}`);
      return;
    }
    requests++;
    const problem = shapeProblem(op, res, url);
    if (problem)
      failures.push(
        `${op.method} ${url.slice(0, 150)} [${what}] → ${res.statusCode} ${problem}: ${res.body.slice(0, 200)}`,
      );
  };

  test('no input to any operation answers 5xx or an error outside its documented shape', async () => {
    assert.ok(operations.length >= 100, `the OpenAPI document lists ${operations.length} operations`);
    for (const op of operations) {
      if (op.path === '/api/v1/auth/logout') continue; // ends the fuzzing session; it takes no input.
      const pathParams = op.params.filter((p) => p.in === 'path');
      const queryParams = op.params.filter((p) => p.in === 'query');
      const baseline = op.body ? (sample(op.body) as Record<string, unknown> | undefined) : undefined;
      const baselineText = baseline === undefined ? undefined : JSON.stringify(baseline);
      for (const p of pathParams)
        for (const v of PATH_VALUES)
          await send(op, { [p.name]: v }, '', baselineText, `path ${p.name}=${v.slice(0, 20)}`);
      if (DESTRUCTIVE(op) && !op.body) continue; // with valid ids and no body, a destructive call would just succeed.
      for (const p of queryParams) {
        for (const v of QUERY_VALUES)
          await send(op, {}, `?${p.name}=${v}`, baselineText, `query ${p.name}=${v.slice(0, 20)}`);
        await send(op, {}, `?${p.name}=1&${p.name}=2`, baselineText, `query ${p.name} repeated`);
      }
      if (!op.body) continue;
      for (const whole of WHOLE_BODIES) await send(op, {}, '', whole, `body ${whole.slice(0, 20)}`);
      const fields = Object.keys(op.body.properties ?? {});
      for (const field of fields) {
        for (const v of FIELD_VALUES) {
          const rest = JSON.stringify({ ...(baseline ?? {}), [field]: null })
            .slice(1, -1)
            .replace(new RegExp(`"${field}":null,?`), '');
          await send(op, {}, '', `{${rest}${rest ? ',' : ''}"${field}":${v}}`, `body.${field}=${v.slice(0, 20)}`);
        }
        // The field's own sample nested in hostile containers, and a hostile key beside it.
        await send(
          op,
          {},
          '',
          JSON.stringify({ ...(baseline ?? {}), [`${field}\ud800`]: 1 }),
          `body key ${field}+surrogate`,
        );
      }
    }
    assert.ok(requests > 3000, `${requests} requests`);
    assert.deepEqual(failures.slice(0, 40), [], `${failures.length} failures`);
  });

  test("the SCIM protocol (hidden from OpenAPI, its own credential) gets the same treatment, in SCIM's error shape", async () => {
    const dir = ids.directoryId as string;
    const auth = { authorization: `Bearer ${scimToken}` };
    const created = await t.app.inject({
      method: 'POST',
      url: `/scim/v2/${dir}/Users`,
      headers: { ...auth, 'content-type': 'application/scim+json' },
      payload: { userName: 'fuzz-user@fuzz.example' },
    });
    const group = await t.app.inject({
      method: 'POST',
      url: `/scim/v2/${dir}/Groups`,
      headers: { ...auth, 'content-type': 'application/scim+json' },
      payload: { displayName: 'fuzz-group' },
    });
    const userId = created.json().id as string;
    const groupId = group.json().id as string;
    const routes = t.app.routeTable.filter((r) => r.url.startsWith('/scim/v2/'));
    const scimFailures: string[] = [];
    let scimRequests = 0;
    const bodies = [
      '',
      ...WHOLE_BODIES,
      ...FIELD_VALUES.flatMap((v) => [
        `{"userName":${v}}`,
        `{"displayName":${v}}`,
        `{"Operations":[{"op":"add","path":"emails","value":${v}}]}`,
        `{"Operations":[{"op":"replace","path":${v},"value":1}]}`,
        `{"members":[{"value":${v}}]}`,
        `{"filter":${v},"startIndex":${v},"count":${v}}`,
      ]),
    ];
    const check = async (method: string, url: string, payload: string | undefined) => {
      const res = await t.app.inject({
        method: method as 'GET',
        url,
        headers: { ...auth, ...(payload !== undefined ? { 'content-type': 'application/scim+json' } : {}) },
        ...(payload !== undefined ? { payload } : {}),
      });
      scimRequests++;
      if (res.statusCode >= 500)
        scimFailures.push(
          `${method} ${url.slice(0, 120)} ${String(payload).slice(0, 40)} → ${res.statusCode} ${res.body.slice(0, 200)}`,
        );
      else if (res.statusCode >= 400) {
        const b = JSON.parse(res.body) as { schemas?: string[]; status?: string; detail?: string };
        if (
          b.schemas?.[0] !== 'urn:ietf:params:scim:api:messages:2.0:Error' ||
          b.status !== String(res.statusCode) ||
          !b.detail
        )
          scimFailures.push(`${method} ${url.slice(0, 120)} → off-shape ${res.body.slice(0, 200)}`);
      }
    };
    for (const r of routes) {
      const base = r.url.replace(':directoryId', dir).replace(':rid', 'User');
      const real = base.replace(':id', r.url.includes('Groups') ? groupId : userId);
      const hostileUrls = r.url.includes(':id')
        ? PATH_VALUES.map((v) => base.replace(':id', v))
        : QUERY_VALUES.map((v) => `${base}?filter=${v}&startIndex=${v}&count=${v}&attributes=${v}&sortBy=${v}`);
      const withBody = !['GET', 'DELETE'].includes(r.method);
      // Every hostile URL once; every hostile body on the real URL. DELETE of the real resources comes last.
      for (const url of hostileUrls) await check(r.method, url, withBody ? '{}' : undefined);
      if (withBody) for (const payload of bodies) await check(r.method, real, payload);
      else if (r.method === 'GET') for (const payload of [undefined, '']) await check(r.method, real, payload);
    }
    for (const r of routes.filter((x) => x.method === 'DELETE'))
      await check(
        'DELETE',
        r.url.replace(':directoryId', dir).replace(':id', r.url.includes('Groups') ? groupId : userId),
        '',
      );
    assert.ok(scimRequests > 1000, `${scimRequests} SCIM requests`);
    assert.deepEqual(scimFailures.slice(0, 30), [], `${scimFailures.length} failures`);
  });

  test('the session and the fixtures survived everything but the destructive calls', async () => {
    const res = await owner.get('/api/v1/me');
    assert.ok([200, 401].includes(res.status));
    assert.ok(up.seen.length >= 0);
  });
});
