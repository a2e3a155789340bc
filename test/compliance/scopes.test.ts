import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALL_SCOPES } from '../../src/compliance/scopes.js';
import { ROUTES, complianceRoutesOf } from './routes-catalog.js';
import { type World, buildWorld, createKey, eventsOf, keyClient } from './world.js';

describe('Compliance API scopes', () => {
  let w: World;
  before(async () => (w = await buildWorld()));
  after(() => w.close());

  test('every Compliance API route is listed here with the one scope it needs', () => {
    const served = complianceRoutesOf(w).sort();
    assert.deepEqual(
      served,
      Object.keys(ROUTES).sort(),
      'add new /v1/compliance/ routes to ROUTES in test/compliance/scopes.test.ts',
    );
    const declared = new Map(
      w.t.app.routeTable.filter((r) => r.url.startsWith('/v1/compliance/')).map((r) => [`${r.method} ${r.url}`, r]),
    );
    assert.equal(declared.size, Object.keys(ROUTES).length);
  });

  test('every Compliance API and key administration route is in the OpenAPI document with an operationId, a summary, a success schema and the compliance key as its security', async () => {
    const doc = (await w.t.anonymous().get('/openapi.json')).body as {
      paths: Record<
        string,
        Record<
          string,
          { operationId?: string; summary?: string; security?: unknown[]; responses?: Record<string, unknown> }
        >
      >;
    };
    const routes = w.t.app.routeTable.filter(
      (r) =>
        r.url.startsWith('/v1/compliance/') ||
        r.url.includes('/compliance/keys') ||
        r.url.endsWith('/audit-settings/content'),
    );
    assert.ok(routes.length >= Object.keys(ROUTES).length + 4);
    const ids = new Set<string>();
    for (const r of routes) {
      const path = r.url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\/$/, '');
      const op = doc.paths[path]?.[r.method.toLowerCase()] ?? doc.paths[`${path}/`]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${path} is documented`);
      assert.ok(op.operationId && !ids.has(op.operationId), `${r.method} ${path} has a unique operationId`);
      ids.add(op.operationId);
      assert.ok(op.summary, `${r.method} ${path} has a summary`);
      assert.ok(
        Object.keys(op.responses ?? {}).some((c) => /^2/.test(c)),
        `${r.method} ${path} has a success response schema`,
      );
      if (r.url.startsWith('/v1/compliance/')) assert.deepEqual(op.security, [{ complianceKey: [] }]);
    }
  });

  test('a key without the scope gets 403 naming the scope, on every endpoint, is audited as denied, and changes nothing', async () => {
    for (const [route, c] of Object.entries(ROUTES)) {
      const others = ALL_SCOPES.filter((s) => s !== c.scope);
      const { secret, id } = await createKey(w.root.owner, w.root.orgId, {
        name: `without ${c.scope}`,
        scopes: others,
      });
      const [method] = route.split(' ');
      const res = await keyClient(w.t, secret).request(method as string, c.url(w), c.body);
      assert.equal(res.status, 403, `${route}: ${res.raw.body}`);
      assert.equal(res.body.error.code, 'missing_scope', route);
      assert.ok(
        res.body.error.message.includes(c.scope),
        `${route}: the message names ${c.scope}: ${res.body.error.message}`,
      );
      assert.equal(res.body.error.details.requiredScope, c.scope);
      assert.deepEqual(res.body.error.details.keyScopes, [...others].sort());
      const denied = (await eventsOf(w.t, w.root.orgId, 'compliance_key.used')).filter((e) => e.targets[0]?.id === id);
      assert.equal(denied.length, 1, route);
      assert.equal(denied[0]?.outcome, 'denied');
      assert.equal(denied[0]?.metadata.scope, c.scope);
      assert.equal(denied[0]?.metadata.reason, 'missing_scope');
      assert.equal(denied[0]?.actor_type, 'compliance_key');
    }
    // The refused deletes deleted nothing; the refused reads recorded no content read.
    const db = w.t.db.database.db;
    assert.ok(
      await db
        .selectFrom('workspace_conversations')
        .select('id')
        .where('id', '=', w.cid.conversationId)
        .executeTakeFirst(),
    );
    assert.ok(await db.selectFrom('workspace_files').select('id').where('id', '=', w.cid.fileId).executeTakeFirst());
    for (const orgId of [w.root.orgId, w.alpha.orgId, w.beta.orgId]) {
      assert.equal((await eventsOf(w.t, orgId, 'compliance.content_read')).length, 0);
      assert.equal((await eventsOf(w.t, orgId, 'compliance.content_deleted')).length, 0);
      assert.equal((await eventsOf(w.t, orgId, 'compliance.user_exported')).length, 0);
    }
  });

  test('a key with only the scope an endpoint needs is let through, and its use is recorded once with that scope', async () => {
    for (const [route, c] of Object.entries(ROUTES)) {
      if (route.startsWith('DELETE')) continue;
      const { secret, id } = await createKey(w.root.owner, w.root.orgId, {
        name: `only ${c.scope}`,
        scopes: [c.scope],
      });
      const [method] = route.split(' ');
      const res = await keyClient(w.t, secret).request(method as string, c.url(w), c.body);
      assert.notEqual(res.status, 403, `${route}: ${res.raw.body}`);
      assert.ok(
        res.status === 200 || (res.status === 404 && route.includes(':group_id')),
        `${route}: ${res.status} ${res.raw.body.slice(0, 200)}`,
      );
      const used = (await eventsOf(w.t, w.root.orgId, 'compliance_key.used')).filter((e) => e.targets[0]?.id === id);
      assert.deepEqual(
        used.map((e) => [e.outcome, e.metadata.scope, e.metadata.method, e.metadata.route]),
        [['success', c.scope, method, route.split(' ')[1]]],
      );
    }
  });

  test('no key, a malformed header or an unknown key is refused with 401 before any scope is considered', async () => {
    const anon = await w.t.anonymous().get('/v1/compliance/activities');
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error.code, 'authentication_required');
    assert.match(anon.body.error.message, /pls_cmp_/);
    const malformed = await w.t
      .anonymous()
      .request('GET', '/v1/compliance/activities', undefined, { authorization: 'Basic abc' });
    assert.equal(malformed.body.error.code, 'invalid_authorization_header');
    const unknown = await keyClient(w.t, `pls_cmp_${'A'.repeat(43)}`).get('/v1/compliance/activities');
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error.code, 'invalid_compliance_key');
    assert.equal(unknown.headers['www-authenticate'], 'Bearer realm="compliance"');
    // Another kind of Palisade credential is not a compliance key.
    const pat = await w.root.owner.post('/api/v1/me/tokens', { name: 'script' });
    const withPat = await keyClient(w.t, pat.body.token).get('/v1/compliance/organizations');
    assert.equal(withPat.status, 401);
    assert.equal(withPat.body.error.code, 'invalid_compliance_key');
    // A session cookie does not open the Compliance API either.
    const withSession = await w.root.owner.get('/v1/compliance/organizations');
    assert.equal(withSession.status, 401);
    assert.equal(withSession.body.error.code, 'authentication_required');
  });

  test('the key is accepted in x-api-key too, and an unknown endpoint is a 404 in the same error shape', async () => {
    const { secret } = await createKey(w.root.owner, w.root.orgId, {
      name: 'x-api-key',
      scopes: ['read:compliance_directory'],
    });
    const r = await w.t.anonymous().request('GET', '/v1/compliance/roles', undefined, { 'x-api-key': secret });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.data.map((x: { id: string }) => x.id),
      ['primary_owner', 'admin', 'member'],
    );
    const missing = await keyClient(w.t, secret).get('/v1/compliance/nothing-here');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'route_not_found');
    assert.equal(typeof missing.body.error.requestId, 'string');
  });
});
