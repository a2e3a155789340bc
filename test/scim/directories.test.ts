import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { PATCH_OP, ScimClient, memberOf, newDirectory, user } from './helpers.js';

/** Directory administration, token rotation, and isolation between directories and organizations. */
describe('SCIM directories and tokens', () => {
  let t: TestApp;
  let a: { orgId: string; owner: Agent };
  let b: { orgId: string; owner: Agent };
  before(async () => {
    t = await createTestApp();
    a = await t.seedOrg('Alpha', 'owner@alpha.example');
    b = await t.seedOrg('Beta', 'owner@beta.example');
  });
  after(() => t.close());

  test('create returns the base URL and a token shown once; list never shows the token', async () => {
    const res = await a.owner.post(`/api/v1/orgs/${a.orgId}/scim/directories`, { name: 'Okta' });
    assert.equal(res.status, 201);
    assert.match(res.body.token, /^pls_scim_[A-Za-z0-9_-]{43}$/);
    assert.equal(res.body.directory.baseUrl, `http://palisade.test/scim/v2/${res.body.directory.id}`);
    const list = await a.owner.get(`/api/v1/orgs/${a.orgId}/scim/directories`);
    assert.equal(list.status, 200);
    assert.ok(!JSON.stringify(list.body).includes(res.body.token));
    assert.equal(list.body.data[0].tokens.length, 1);
    const audit = await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=scim.*`);
    assert.ok(!JSON.stringify(audit.body).includes(res.body.token), 'the token is not in the audit log');
  });

  test('members cannot manage directories; other organizations get 404', async () => {
    const { agent } = await t.addMember(a.owner, a.orgId, 'm@alpha.example', 'member');
    assert.equal((await agent.post(`/api/v1/orgs/${a.orgId}/scim/directories`, { name: 'x' })).status, 403);
    assert.equal((await b.owner.get(`/api/v1/orgs/${a.orgId}/scim/directories`)).status, 404);
  });

  test('rotation: the old token keeps working for the overlap window, then stops; overlap 0 ends it at once', async () => {
    const { scim, directoryId, token: old } = await newDirectory(t, a.owner, a.orgId, 'Rotating');
    const rot = await a.owner.post(`/api/v1/orgs/${a.orgId}/scim/directories/${directoryId}/rotate-token`, {
      overlapHours: 2,
    });
    assert.equal(rot.status, 200);
    assert.notEqual(rot.body.token, old);
    const fresh = new ScimClient(t.app, scim.base, rot.body.token);
    assert.equal((await scim.get('/Users')).status, 200, 'old token inside the window');
    assert.equal((await fresh.get('/Users')).status, 200);
    t.clock.advance(2 * 3_600_000 + 1000);
    const late = await scim.get('/Users');
    assert.equal(late.status, 401);
    assert.equal(late.body.schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
    assert.match(String(late.headers['www-authenticate']), /^Bearer /);
    assert.equal((await fresh.get('/Users')).status, 200);
    const log = await a.owner.get(`/api/v1/orgs/${a.orgId}/scim/directories/${directoryId}/sync-log?outcome=failure`);
    assert.equal(log.body.data[0].cause, 'invalid_token');
    assert.match(log.body.data[0].explanation, /Copy the current token/);
    const now = await a.owner.post(`/api/v1/orgs/${a.orgId}/scim/directories/${directoryId}/rotate-token`, {
      overlapHours: 0,
    });
    assert.equal((await fresh.get('/Users')).status, 401);
    assert.equal((await new ScimClient(t.app, scim.base, now.body.token).get('/Users')).status, 200);
  });

  test('delete ends the directory and its token', async () => {
    const { scim, directoryId } = await newDirectory(t, a.owner, a.orgId, 'Doomed');
    assert.equal((await a.owner.delete(`/api/v1/orgs/${a.orgId}/scim/directories/${directoryId}`)).status, 204);
    assert.equal((await scim.get('/Users')).status, 401);
    assert.equal((await a.owner.get(`/api/v1/orgs/${a.orgId}/scim/directories/${directoryId}`)).status, 404);
  });

  test("isolation: one directory's token never reads or writes another directory's or organization's data, on every SCIM endpoint", async () => {
    const dirA = await newDirectory(t, a.owner, a.orgId, 'A-IdP');
    const dirA2 = await newDirectory(t, a.owner, a.orgId, 'A-second-IdP');
    const dirB = await newDirectory(t, b.owner, b.orgId, 'B-IdP');
    const ua = await dirA.scim.post('/Users', user('secret.person@alpha.example'));
    const ga = await dirA.scim.post('/Groups', { displayName: 'alpha-secret-group', members: [{ value: ua.body.id }] });
    assert.equal(ua.status, 201);
    assert.equal(ga.status, 201);

    const endpoints: [string, string, unknown?][] = [
      ['GET', '/Users'],
      ['POST', '/Users', user('intruder@beta.example')],
      ['POST', '/Users/.search', { filter: 'userName pr' }],
      ['GET', `/Users/${ua.body.id}`],
      ['PUT', `/Users/${ua.body.id}`, user('secret.person@alpha.example', { active: false })],
      [
        'PATCH',
        `/Users/${ua.body.id}`,
        { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] },
      ],
      ['DELETE', `/Users/${ua.body.id}`],
      ['GET', '/Groups'],
      ['POST', '/Groups', { displayName: 'intruders' }],
      ['POST', '/Groups/.search', {}],
      ['GET', `/Groups/${ga.body.id}`],
      ['PUT', `/Groups/${ga.body.id}`, { displayName: 'taken', members: [] }],
      [
        'PATCH',
        `/Groups/${ga.body.id}`,
        { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'members', value: [] }] },
      ],
      ['DELETE', `/Groups/${ga.body.id}`],
      ['GET', '/ServiceProviderConfig'],
      ['GET', '/ResourceTypes'],
      ['GET', '/Schemas'],
      ['GET', '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User'],
      ['GET', '/ResourceTypes/User'],
      ['GET', '/Me'],
      ['POST', '/Bulk', {}],
      ['GET', '/NoSuchEndpoint'],
    ];
    const secrets = ['secret.person', 'alpha-secret-group', ua.body.id, ga.body.id];
    // 1. B's token on A's URL, A2's token on A's URL, a personal API token, no token: 401 everywhere.
    const pat = (await a.owner.post('/api/v1/me/tokens', { name: 'not for scim' })).body.token;
    for (const token of [dirB.token, dirA2.token, pat, 'pls_scim_' + 'x'.repeat(43)]) {
      const intruder = new ScimClient(t.app, dirA.scim.base, token);
      for (const [method, path, body] of endpoints) {
        const res = await intruder.request(method, path, body);
        assert.equal(res.status, 401, `${method} ${path} with a foreign token answered ${res.status}`);
        for (const s of secrets) assert.ok(!JSON.stringify(res.body).includes(s), `${method} ${path} leaked ${s}`);
      }
    }
    const none = await t.app.inject({ method: 'GET', url: `${dirA.scim.base}/Users` });
    assert.equal(none.statusCode, 401);
    // 2. B's token on B's own URL with A's resource ids: 404, nothing of A listed or changed.
    for (const [method, path, body] of endpoints) {
      const res = await dirB.scim.request(method, path, body);
      assert.notEqual(res.status, 500, `${method} ${path}`);
      if (path.includes(ua.body.id) || path.includes(ga.body.id))
        assert.equal(res.status, 404, `${method} ${path} answered ${res.status}`);
      // (A 404 repeats the id the caller sent; it must not add anything of A's.)
      for (const s of secrets.slice(0, 2))
        assert.ok(!JSON.stringify(res.body ?? '').includes(s), `${method} ${path} leaked ${s}`);
    }
    // 3. A2 (same organization, other directory) does not see A's resources either.
    const listA2 = await dirA2.scim.get('/Users');
    assert.equal(listA2.body.totalResults, 0);
    assert.equal((await dirA2.scim.get(`/Users/${ua.body.id}`)).status, 404);
    // A is intact.
    const still = await dirA.scim.get(`/Users/${ua.body.id}`);
    assert.equal(still.status, 200);
    assert.equal(still.body.active, true);
    const grp = await dirA.scim.get(`/Groups/${ga.body.id}`);
    assert.equal(grp.body.displayName, 'alpha-secret-group');
    assert.equal(grp.body.members.length, 1);
    // B's provisioning of a member of A did not touch A's membership.
    const membersB = await b.owner.get(`/api/v1/orgs/${b.orgId}/members`);
    assert.ok(membersB.body.data.every((m: { email: string }) => !m.email.includes('secret.person')));
  });

  test('no SCIM token reaches a log line, even at trace level', async () => {
    const lines: string[] = [];
    const { Writable } = await import('node:stream');
    const { buildApp } = await import('../../src/app.js');
    const app = await buildApp({
      database: t.db.database,
      config: { ...t.config, logLevel: 'trace' },
      clock: t.clock,
      logStream: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }),
    });
    try {
      const res = await a.owner.post(`/api/v1/orgs/${a.orgId}/scim/directories`, { name: 'Logged' });
      const client = new ScimClient(app, new URL(res.body.directory.baseUrl).pathname, res.body.token);
      await client.post('/Users', user('logged@alpha.example'));
      await client.get('/Users?filter=userName%20eq%20%22x%22');
      await new ScimClient(app, client.base, `${res.body.token.slice(0, -2)}xx`).get('/Users');
      const all = lines.join('\n');
      assert.ok(lines.length > 5, 'trace logging captured');
      assert.ok(!all.includes(res.body.token.slice(9)), 'the token never appears');
    } finally {
      await app.close();
    }
  });

  test('deprovisioning in a business unit signs the person out when their other memberships are in the same company', async () => {
    const child = await a.owner.post(`/api/v1/orgs/${a.orgId}/children`, { name: 'Alpha EU' });
    const { agent } = await t.addMember(a.owner, a.orgId, 'eu.person@alpha.example', 'member');
    assert.equal(
      (
        await a.owner.post(`/api/v1/orgs/${child.body.id}/members`, {
          email: 'eu.person@alpha.example',
          role: 'member',
        })
      ).status,
      201,
    );
    const dir = await newDirectory(t, a.owner, child.body.id, 'EU IdP');
    const u = await dir.scim.post('/Users', user('eu.person@alpha.example'));
    const off = await dir.scim.patch(`/Users/${u.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    assert.equal(off.status, 200);
    assert.equal(
      (await agent.get('/api/v1/auth/session')).status,
      401,
      'signed out: the parent organization is the same company',
    );
    assert.equal(
      (await memberOf(a.owner, child.body.id, 'eu.person@alpha.example'))?.status,
      'suspended',
      'the business-unit membership is suspended',
    );
    assert.equal(
      (await memberOf(a.owner, a.orgId, 'eu.person@alpha.example'))?.status,
      'active',
      "the parent membership is not the directory's to touch",
    );
  });

  test("a directory of B provisioning an email that belongs to A cannot take A's access away", async () => {
    const { agent } = await t.addMember(a.owner, a.orgId, 'shared@alpha.example', 'member');
    const dirB = await newDirectory(t, b.owner, b.orgId, 'B-hostile');
    const u = await dirB.scim.post('/Users', user('shared@alpha.example'));
    assert.equal(u.status, 201);
    const off = await dirB.scim.patch(`/Users/${u.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    assert.equal(off.status, 200);
    assert.equal((await agent.get('/api/v1/auth/session')).status, 200, 'still signed in: B does not manage A');
    const members = await a.owner.get(`/api/v1/orgs/${a.orgId}/members`);
    assert.ok(members.body.data.some((m: { email: string }) => m.email === 'shared@alpha.example'));
  });
});
