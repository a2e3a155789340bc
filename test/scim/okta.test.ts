import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { GROUP, PATCH_OP, type ScimClient, USER, memberOf, newDirectory } from './helpers.js';

/**
 * Replay of the request sequence Okta sends: its SCIM 2.0 conformance test spec (the "Runscope"
 * validator: connectivity, pagination, filters, create, duplicate, deactivate) and its provisioning
 * service (create user, profile update by PUT, deactivate/reactivate by path-less PATCH, Group Push
 * with member add/remove PATCHes and the full member-list replace).
 *
 * Written from Okta's public SCIM 2.0 documentation as remembered by the author (no network access
 * while writing it), not a capture of live Okta traffic: request shapes follow the documented
 * examples (field names, filters, Operations payloads, query parameters).
 */
describe('Okta provisioning replay', () => {
  let t: TestApp;
  let okta: ScimClient;
  let owner: Agent;
  let orgId: string;
  let directoryId: string;
  const filter = (f: string) => `filter=${encodeURIComponent(f)}`;
  const roleOf = async (email: string) =>
    (await owner.get(`/api/v1/orgs/${orgId}/members?limit=200`)).body.data.find(
      (m: { email: string }) => m.email === email,
    )?.role ?? null;

  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: 'member',
      rules: [{ group: 'acme-admins', role: 'admin' }],
    });
    ({ scim: okta, directoryId } = await newDirectory(t, owner, orgId, 'Okta'));
  });
  after(() => t.close());

  let userId = '';
  const oktaUser = (active = true) => ({
    schemas: [USER],
    userName: 'test.user@acme.example',
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: 'test.user@acme.example', type: 'work' }],
    displayName: 'Test User',
    locale: 'en-US',
    externalId: '00ujl29u0le5T6Aj10h7',
    groups: [],
    password: '1mz050nq',
    active,
  });

  test('validator: connectivity, list shape, unknown users', async () => {
    const list = await okta.get('/Users?count=1&startIndex=1');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    for (const k of ['totalResults', 'itemsPerPage', 'startIndex', 'Resources']) assert.ok(k in list.body, k);
    const none = await okta.get(`/Users?${filter('userName eq "invalidUser@acme.example"')}&startIndex=1&count=100`);
    assert.equal(none.body.totalResults, 0);
    assert.deepEqual(none.body.Resources, []);
    const missing = await okta.get('/Users/010101');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
    assert.equal(missing.body.status, '404');
  });

  test('create: lookup by userName, POST, duplicate POST is 409, lookup by id and by userName (any case)', async () => {
    const before = await okta.get(`/Users?${filter('userName eq "test.user@acme.example"')}&startIndex=1&count=100`);
    assert.equal(before.body.totalResults, 0);
    const created = await okta.post('/Users', oktaUser());
    assert.equal(created.status, 201);
    assert.equal(created.body.userName, 'test.user@acme.example');
    assert.equal(created.body.active, true);
    assert.equal(created.body.password, undefined, 'passwords are never returned');
    userId = created.body.id;
    const again = await okta.post('/Users', oktaUser());
    assert.equal(again.status, 409);
    assert.equal(again.body.scimType, 'uniqueness');
    assert.equal((await okta.get(`/Users/${userId}`)).body.id, userId);
    const upper = await okta.get(`/Users?${filter('userName eq "TEST.USER@ACME.EXAMPLE"')}`);
    assert.equal(upper.body.totalResults, 1);
    assert.equal(await roleOf('test.user@acme.example'), 'member');
  });

  test('profile update by PUT with the whole user', async () => {
    const body = { ...oktaUser(), id: userId, name: { givenName: 'Tess', familyName: 'User' }, title: 'Engineer' };
    const res = await okta.put(`/Users/${userId}`, body);
    assert.equal(res.status, 200);
    assert.equal(res.body.name.givenName, 'Tess');
    assert.equal(res.body.title, 'Engineer');
  });

  test('deactivate and reactivate by path-less PATCH', async () => {
    const off = await okta.patch(`/Users/${userId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    assert.equal(off.status, 200);
    assert.equal(off.body.active, false);
    const suspended = await memberOf(owner, orgId, 'test.user@acme.example');
    assert.equal(suspended?.status, 'suspended', 'Okta deactivation suspends the membership');
    assert.equal(suspended?.role, 'member');
    const list = await okta.get(`/Users?${filter('userName eq "test.user@acme.example"')}`);
    assert.equal(list.body.Resources[0].active, false);
    const on = await okta.patch(`/Users/${userId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active: true } }],
    });
    assert.equal(on.body.active, true);
    const back = await memberOf(owner, orgId, 'test.user@acme.example');
    assert.equal(back?.status, 'active');
    assert.equal(back?.id, suspended?.id, 'the same membership comes back');
    assert.equal(back?.role, 'member');
  });

  test('paging through an import', async () => {
    for (let i = 0; i < 4; i++)
      await okta.post('/Users', {
        ...oktaUser(),
        userName: `p${i}@acme.example`,
        emails: [{ primary: true, value: `p${i}@acme.example`, type: 'work' }],
        externalId: `ext-p${i}`,
      });
    const seen = new Set<string>();
    for (let start = 1; ; start += 2) {
      const page = await okta.get(`/Users?startIndex=${start}&count=2`);
      assert.equal(page.body.totalResults, 5);
      for (const r of page.body.Resources) seen.add(r.id);
      if (start + 2 > page.body.totalResults) break;
    }
    assert.equal(seen.size, 5);
  });

  let groupId = '';
  test('Group Push: create, find by displayName, add/remove members, rename, full member-list replace, delete', async () => {
    const created = await okta.post('/Groups', { schemas: [GROUP], displayName: 'acme-admins', members: [] });
    assert.equal(created.status, 201);
    groupId = created.body.id;
    const found = await okta.get(`/Groups?${filter('displayName eq "acme-admins"')}&startIndex=1&count=100`);
    assert.equal(found.body.Resources[0].id, groupId);
    const add = await okta.patch(`/Groups/${groupId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: [{ value: userId, display: 'test.user@acme.example' }] }],
    });
    assert.equal(add.status, 200);
    assert.equal(await roleOf('test.user@acme.example'), 'admin');
    const others = (await okta.get(`/Users?${filter('userName sw "p"')}`)).body.Resources.map(
      (r: { id: string }) => r.id,
    ) as string[];
    const replace = await okta.patch(`/Groups/${groupId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'members', value: others.map((value) => ({ value })) }],
    });
    assert.equal(replace.status, 200);
    assert.equal(replace.body.members.length, others.length);
    assert.equal(await roleOf('test.user@acme.example'), 'member', 'dropped from the list, back to the default role');
    assert.equal(await roleOf('p0@acme.example'), 'admin');
    const remove = await okta.patch(`/Groups/${groupId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'remove', path: `members[value eq "${others[0]}"]` }],
    });
    assert.equal(remove.body.members.length, others.length - 1);
    const rename = await okta.patch(`/Groups/${groupId}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { id: groupId, displayName: 'admins' } }],
    });
    assert.equal(rename.status, 200);
    assert.equal(rename.body.displayName, 'admins');
    assert.equal(rename.body['urn:palisade:scim:schemas:extension:mapping:1.0:Group'].expectedName, 'acme-admins');
    assert.equal(await roleOf('p1@acme.example'), 'member', 'a renamed group outside the prefix grants nothing');
    const put = await okta.put(`/Groups/${groupId}`, {
      schemas: [GROUP],
      id: groupId,
      displayName: 'acme-admins',
      members: [{ value: userId }],
    });
    assert.equal(put.status, 200);
    assert.equal(await roleOf('test.user@acme.example'), 'admin');
    assert.equal((await okta.delete(`/Groups/${groupId}`)).status, 204);
    assert.equal(await roleOf('test.user@acme.example'), 'member');
  });

  test('the sync log tells the Okta admin what the rename did and how to fix it', async () => {
    const problems = await owner.get(`/api/v1/orgs/${orgId}/scim/directories/${directoryId}/sync-log/problems`);
    const p = problems.body.problems.find((x: { cause: string }) => x.cause === 'group_missing_prefix');
    assert.ok(p);
    assert.deepEqual(p.groups, ['admins']);
    assert.match(p.explanation, /Rename it to "acme-admins"/);
  });
});
