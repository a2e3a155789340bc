import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { PATCH_OP, type ScimClient, newDirectory, user } from './helpers.js';

/**
 * Simultaneous requests, as an identity provider with several workers sends them. On PostgreSQL
 * they really run in parallel transactions (a pool of connections); on SQLite they interleave.
 */
describe(`SCIM concurrency (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let scim: ScimClient;
  let ids: string[];
  before(async () => {
    t = await createTestApp();
    const a = await t.seedOrg('Acme', 'owner@acme.example');
    ({ scim } = await newDirectory(t, a.owner, a.orgId));
    ids = [];
    for (let i = 0; i < 30; i++) ids.push((await scim.post('/Users', user(`u${i}@acme.example`))).body.id);
  });
  after(() => t.close());

  test('30 simultaneous PATCHes adding one member each to one group lose no member', async () => {
    const g = await scim.post('/Groups', { displayName: 'everyone' });
    const results = await Promise.all(
      ids.map((id) =>
        scim.patch(`/Groups/${g.body.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }],
        }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ids.map(() => 200),
    );
    const got = await scim.get(`/Groups/${g.body.id}`);
    assert.equal(got.body.members.length, 30);
    assert.equal(got.body.meta.version, 'W/"31"', 'every PATCH applied once, in turn');
  });

  test('simultaneous adds and removes on one group: each applied exactly once', async () => {
    const g = await scim.post('/Groups', {
      displayName: 'half',
      members: ids.slice(0, 15).map((value) => ({ value })),
    });
    const removes = ids.slice(0, 10).map((id) => ({ op: 'remove', path: `members[value eq "${id}"]` }));
    const adds = ids.slice(15).map((id) => ({ op: 'add', path: 'members', value: [{ value: id }] }));
    const all = [...removes, ...adds].sort(() => 0.5 - Math.random());
    const results = await Promise.all(
      all.map((op) => scim.patch(`/Groups/${g.body.id}`, { schemas: [PATCH_OP], Operations: [op] })),
    );
    assert.ok(results.every((r) => r.status === 200));
    const got = await scim.get(`/Groups/${g.body.id}`);
    assert.deepEqual(got.body.members.map((m: { value: string }) => m.value).sort(), [...ids.slice(10)].sort());
  });

  test('simultaneous creates of one userName: exactly one 201, the rest 409 uniqueness', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => scim.post('/Users', user('race@acme.example'))));
    assert.equal(results.filter((r) => r.status === 201).length, 1);
    for (const r of results.filter((x) => x.status !== 201)) {
      assert.equal(r.status, 409);
      assert.equal(r.body.scimType, 'uniqueness');
    }
  });
});
