import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from './helpers/harness.js';

/**
 * Tenant isolation, for every route the app serves. A primary owner of organization B calls each
 * route with organization A's ids: every answer must be a 404 that says nothing about A.
 *
 * A new route with a path parameter this file does not know fails the test until it is added to
 * PARAM_FIXTURES (and, for routes with a body, SAMPLE_BODIES): no route escapes the check.
 */

interface World {
  a: { orgId: string; childId: string; memberId: string; tokenId: string; streamId: string; owner: Agent; secrets: string[] };
  b: { orgId: string; owner: Agent };
}

/** Where each path parameter takes its value from organization A. */
const PARAM_FIXTURES: Record<string, (w: World) => string> = {
  orgId: (w) => w.a.orgId,
  memberId: (w) => w.a.memberId,
  tokenId: (w) => w.a.tokenId,
  streamId: (w) => w.a.streamId,
};

/** A valid body for each route that takes one, so the request reaches authorization. */
const SAMPLE_BODIES: Record<string, unknown> = {
  'PATCH /api/v1/orgs/:orgId': { name: 'Taken over' },
  'POST /api/v1/orgs/:orgId/children': { name: 'Rogue unit' },
  'POST /api/v1/orgs/:orgId/members': { email: 'intruder@b.example', role: 'admin' },
  'PATCH /api/v1/orgs/:orgId/members/:memberId': { role: 'primary_owner' },
  'PUT /api/v1/orgs/:orgId/role-mapping': { requiredPrefix: null, defaultRole: 'admin', rules: [] },
  'POST /api/v1/orgs/:orgId/role-mapping/preview': { groups: ['alpha-admins'] },
  'PUT /api/v1/orgs/:orgId/audit-settings': { retentionDays: 1 },
  'POST /api/v1/orgs/:orgId/audit-checkpoints': {},
  'POST /api/v1/orgs/:orgId/audit-streams': { name: 'Rogue SIEM', kind: 'webhook', url: 'https://attacker.example/hook' },
  'PATCH /api/v1/orgs/:orgId/audit-streams/:streamId': { paused: true },
  'POST /api/v1/orgs/:orgId/audit-streams/:streamId/test': {},
  'POST /api/v1/orgs/:orgId/audit-streams/:streamId/retry': {},
};

describe('tenant isolation on every route', () => {
  let t: TestApp;
  let w: World;
  before(async () => {
    t = await createTestApp();
    const a = await t.seedOrg('Alpha Secret Corp', 'owner@alpha.example');
    const child = await a.owner.post(`/api/v1/orgs/${a.orgId}/children`, { name: 'Alpha Hidden Unit' });
    const { memberId } = await t.addMember(a.owner, a.orgId, 'member@alpha.example', 'admin');
    const token = await a.owner.post('/api/v1/me/tokens', { name: 'alpha automation' });
    const stream = await a.owner.post(`/api/v1/orgs/${a.orgId}/audit-streams`, { name: 'Alpha SIEM', kind: 'webhook', url: 'https://siem.alpha.example/hook' });
    if (stream.status !== 201) throw new Error(JSON.stringify(stream.body));
    const b = await t.seedOrg('Beta', 'owner@beta.example');
    w = {
      a: { orgId: a.orgId, childId: child.body.id, memberId, tokenId: token.body.apiToken.id, streamId: stream.body.stream.id, owner: a.owner, secrets: ['Alpha Secret Corp', 'Alpha Hidden Unit', 'alpha.example', 'alpha automation', 'Alpha SIEM'] },
      b: { orgId: b.orgId, owner: b.owner },
    };
  });
  after(() => t.close());

  const scoped = () => t.app.routeTable.filter((r) => r.url.includes('/:'));

  test('every parameterised route has a fixture', () => {
    const missing: string[] = [];
    for (const r of scoped()) {
      for (const p of r.url.match(/:([A-Za-z]+)/g) ?? []) if (!PARAM_FIXTURES[p.slice(1)]) missing.push(`${r.method} ${r.url} (${p})`);
      if (['POST', 'PUT', 'PATCH'].includes(r.method) && !(`${r.method} ${r.url}` in SAMPLE_BODIES)) missing.push(`${r.method} ${r.url} (sample body)`);
    }
    assert.deepEqual(missing, [], 'add these to PARAM_FIXTURES / SAMPLE_BODIES in test/tenant-isolation.test.ts');
    assert.ok(scoped().length >= 10);
  });

  test("organization B's owner gets 404 and learns nothing, on every route, for A and A's child", async () => {
    for (const target of ['org', 'child'] as const) {
      for (const r of scoped()) {
        const url = r.url.replace(/:([A-Za-z]+)/g, (_, name: string) => (name === 'orgId' && target === 'child' ? w.a.childId : PARAM_FIXTURES[name]!(w)));
        const res = await w.b.owner.request(r.method, url, SAMPLE_BODIES[`${r.method} ${r.url}`]);
        assert.equal(res.status, 404, `${r.method} ${url} answered ${res.status}: ${res.raw.body}`);
        assert.equal(res.body.error.code, 'not_found', `${r.method} ${url}`);
        for (const s of w.a.secrets) assert.ok(!res.raw.body.includes(s), `${r.method} ${url} leaked "${s}"`);
      }
    }
    // Nothing of A changed.
    const org = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}`);
    assert.equal(org.body.name, 'Alpha Secret Corp');
    const members = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/members`);
    assert.equal(members.body.data.length, 2);
    assert.ok(members.body.data.every((m: { email: string }) => m.email.endsWith('@alpha.example')));
    assert.equal((await w.a.owner.get(`/api/v1/orgs/${w.a.childId}`)).status, 200);
    const tokens = await w.a.owner.get('/api/v1/me/tokens');
    assert.equal(tokens.body.data[0].revokedAt, null);
  });

  test('a non-existent id answers exactly like another organization\'s id', async () => {
    const foreign = await w.b.owner.get(`/api/v1/orgs/${w.a.orgId}`);
    const missing = await w.b.owner.get('/api/v1/orgs/org_00000000000000000000000000');
    assert.equal(foreign.status, missing.status);
    assert.equal(foreign.body.error.code, missing.body.error.code);
    assert.equal(foreign.body.error.message, missing.body.error.message);
  });

  test('anonymous callers are asked to sign in on every organization route', async () => {
    for (const r of scoped()) {
      const url = r.url.replace(/:([A-Za-z]+)/g, (_, name: string) => PARAM_FIXTURES[name]!(w));
      const res = await t.anonymous().request(r.method, url, SAMPLE_BODIES[`${r.method} ${r.url}`]);
      assert.equal(res.status, 401, `${r.method} ${url}`);
      assert.equal(res.body.error.code, 'authentication_required');
    }
  });

  test("B's organization list never includes A", async () => {
    const list = await w.b.owner.get('/api/v1/orgs');
    assert.deepEqual(list.body.data.map((o: { id: string }) => o.id), [w.b.orgId]);
  });
});
