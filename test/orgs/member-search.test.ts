import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Agent, type Reply, type TestApp, createTestApp } from '../helpers/harness.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { newDirectory, user } from '../scim/helpers.js';

/**
 * GET /orgs/:id/members?q=&status=&role= searches on the server, the same on both engines: `q`
 * matches a substring of the address or the name, A–Z in either case, other letters as written,
 * and % and _ as plain characters.
 */
describe(`member search (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  const emails = async (query: string, by = owner) => {
    const res = await by.get(`/api/v1/orgs/${orgId}/members?${query}`);
    assert.equal(res.status, 200, res.raw.body);
    return (res.body.data as { email: string }[]).map((m) => m.email).sort();
  };

  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Search', 'owner@search.example'));
    // Names come the way they usually do: from the identity provider, over SCIM.
    const { scim } = await newDirectory(t, owner, orgId);
    const people: [string, string][] = [
      ['ann.lee@search.example', 'Ann Lee'],
      ['under_score@search.example', 'Snake Case'],
      ['underxscore@search.example', 'Not Snake'],
      ['d50@search.example', 'Discount 50% Team'],
      ['d500@search.example', 'Discount 500 Team'],
      ['emile@search.example', 'Émile Zola'],
      ['back@search.example', 'Back\\slash'],
    ];
    for (const [email, displayName] of people) {
      const res = await scim.post('/Users', user(email, { displayName }));
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    await t.addMember(owner, orgId, 'admin.ann@search.example', 'admin');
    await owner.post(`/api/v1/orgs/${orgId}/members`, { email: 'invited.ann@search.example' });
  });
  after(() => t.close());

  test('q matches a substring of the address or the name, A–Z in either case', async () => {
    assert.deepEqual(await emails('q=ANN'), [
      'admin.ann@search.example',
      'ann.lee@search.example',
      'invited.ann@search.example',
    ]);
    assert.deepEqual(await emails('q=lee'), ['ann.lee@search.example']);
    assert.deepEqual(await emails(`q=${encodeURIComponent('  ann LEE ')}`), ['ann.lee@search.example']);
    assert.deepEqual(await emails('q=discount'), ['d500@search.example', 'd50@search.example']);
  });

  test('% and _ are plain characters, and so is a backslash', async () => {
    assert.deepEqual(await emails(`q=${encodeURIComponent('50%')}`), ['d50@search.example']);
    assert.deepEqual(await emails(`q=${encodeURIComponent('under_')}`), ['under_score@search.example']);
    assert.deepEqual(await emails(`q=${encodeURIComponent('%')}`), ['d50@search.example']);
    assert.deepEqual(await emails(`q=${encodeURIComponent('_')}`), ['under_score@search.example']);
    assert.deepEqual(await emails(`q=${encodeURIComponent('k\\s')}`), ['back@search.example']);
    assert.deepEqual(await emails(`q=${encodeURIComponent('\\')}`), ['back@search.example']);
  });

  test('letters beyond A–Z match only as written, on both engines', async () => {
    assert.deepEqual(await emails(`q=${encodeURIComponent('Émile')}`), ['emile@search.example']);
    assert.deepEqual(await emails(`q=${encodeURIComponent('ÉMILE')}`), ['emile@search.example']);
    assert.deepEqual(await emails(`q=${encodeURIComponent('émile')}`), []);
    assert.deepEqual(await emails('q=zola'), ['emile@search.example']);
  });

  test('status and role narrow the search, and pages follow the cursor through the narrowed list', async () => {
    assert.deepEqual(await emails('q=ann&status=invited'), ['invited.ann@search.example']);
    assert.deepEqual(await emails('q=ann&role=admin'), ['admin.ann@search.example']);
    assert.deepEqual(await emails('role=primary_owner'), ['owner@search.example']);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const res: Reply = await owner.get(
        `/api/v1/orgs/${orgId}/members?q=search.example&status=active&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(res.status, 200);
      assert.ok(res.body.data.length <= 3);
      seen.push(...res.body.data.map((m: { email: string }) => m.email));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    assert.equal(new Set(seen).size, seen.length, 'no member on two pages');
    assert.deepEqual(seen.sort(), (await emails('status=active&limit=200')).sort());
    assert.equal(seen.length, 9, 'the owner, seven provisioned people and the admin');
  });

  test('a query that is too long or a status that does not exist is refused with the field named', async () => {
    const long = await owner.get(`/api/v1/orgs/${orgId}/members?q=${'a'.repeat(201)}`);
    assert.equal(long.status, 400);
    const bad = await owner.get(`/api/v1/orgs/${orgId}/members?status=deleted`);
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body.error), /status/);
  });

  test("members may not search, and another organization's admin gets a 404", async () => {
    const { agent: member } = await t.addMember(owner, orgId, 'm@search.example', 'member');
    const res = await member.get(`/api/v1/orgs/${orgId}/members?q=ann`);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'missing_permission_members_read');
    const other = await t.seedOrg('Elsewhere', 'owner@elsewhere.example');
    const cross = await other.owner.get(`/api/v1/orgs/${orgId}/members?q=ann`);
    assert.equal(cross.status, 404);
  });
});
