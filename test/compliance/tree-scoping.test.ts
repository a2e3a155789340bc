import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Agent } from '../helpers/harness.js';
import { ROUTES } from './routes-catalog.js';
import { type World, buildWorld, createKey, keyClient } from './world.js';

/**
 * A key limited to one business unit (Alpha) sees nothing of its sibling (Beta), of the parent
 * (Root) or of another customer: every id of theirs answers 404, exactly like an id that does not
 * exist, and no list carries their data.
 */
describe('tree scoping of compliance keys', () => {
  let w: World;
  let alphaOnly: Agent;
  let betaSecrets: string[];
  before(async () => {
    w = await buildWorld();
    alphaOnly = keyClient(
      w.t,
      (await createKey(w.root.owner, w.root.orgId, { name: 'Alpha eDiscovery', organizationIds: [w.alpha.orgId] }))
        .secret,
    );
    betaSecrets = [
      'Beta Unit',
      'bea@root.example',
      'Bea hiring',
      'Bea asks about hiring',
      'bea-notes.txt',
      'bea file body',
      w.bea.userId,
      w.bea.conversationId,
      w.bea.fileId,
      w.beta.orgId,
      'Root Holdings',
      'Other Corp',
      'owner@root.example',
    ];
  });
  after(() => w.close());

  const sibling = (w: World): Record<string, string> => ({
    'GET /v1/compliance/organizations/:organization_id/users': `/v1/compliance/organizations/${w.beta.orgId}/users`,
    'GET /v1/compliance/organizations/:organization_id/groups': `/v1/compliance/organizations/${w.beta.orgId}/groups`,
    'GET /v1/compliance/organizations/:organization_id/groups/:group_id/members': `/v1/compliance/organizations/${w.beta.orgId}/groups/grp_00000000000000000000000000/members`,
    'GET /v1/compliance/apps/chats/:chat_id/messages': `/v1/compliance/apps/chats/${w.bea.conversationId}/messages`,
    'DELETE /v1/compliance/apps/chats/:chat_id': `/v1/compliance/apps/chats/${w.bea.conversationId}`,
    'GET /v1/compliance/apps/files/:file_id': `/v1/compliance/apps/files/${w.bea.fileId}`,
    'GET /v1/compliance/apps/files/:file_id/content': `/v1/compliance/apps/files/${w.bea.fileId}/content`,
    'DELETE /v1/compliance/apps/files/:file_id': `/v1/compliance/apps/files/${w.bea.fileId}`,
    'GET /v1/compliance/users/:user_id/export': `/v1/compliance/users/${w.bea.userId}/export`,
  });

  test("every endpoint that takes an id answers 404 for the sibling's ids, like a made-up id, and leaks nothing", async () => {
    const urls = sibling(w);
    const withIds = Object.keys(ROUTES).filter((r) => r.includes(':'));
    assert.deepEqual(Object.keys(urls).sort(), withIds.sort(), 'every parameterised route has a sibling case');
    for (const [route, url] of Object.entries(urls)) {
      const method = route.split(' ')[0] as string;
      const res = await alphaOnly.request(method, url);
      assert.equal(res.status, 404, `${route}: ${res.raw.body}`);
      assert.equal(res.body.error.code, 'not_found');
      for (const s of betaSecrets) assert.ok(!res.raw.body.includes(s), `${route} leaked ${s}`);
      const madeUp = await alphaOnly.request(
        method,
        url.replace(/(org|cnv|fil|usr)_[0-9a-z]{26}/, '$1_00000000000000000000000000'),
      );
      assert.equal(madeUp.status, 404);
      assert.equal(
        madeUp.body.error.message,
        res.body.error.message,
        `${route}: a sibling's id answers like a missing one`,
      );
    }
    // The refused deletes removed nothing.
    const db = w.t.db.database.db;
    assert.ok(
      await db
        .selectFrom('workspace_conversations')
        .select('id')
        .where('id', '=', w.bea.conversationId)
        .executeTakeFirst(),
    );
    assert.ok(await db.selectFrom('workspace_files').select('id').where('id', '=', w.bea.fileId).executeTakeFirst());
  });

  test('naming the sibling in a filter is a 404 too, on every list that filters by organization', async () => {
    for (const url of [
      '/v1/compliance/activities',
      '/v1/compliance/apps/chats',
      '/v1/compliance/apps/files',
      '/v1/compliance/usage',
    ]) {
      const res = await alphaOnly.get(`${url}?organization_ids[]=${w.beta.orgId}`);
      assert.equal(res.status, 404, url);
      assert.equal(res.body.error.code, 'not_found');
      const both = await alphaOnly.get(`${url}?organization_ids[]=${w.alpha.orgId}&organization_ids[]=${w.root.orgId}`);
      assert.equal(both.status, 404, `${url}: the parent is outside the key too`);
    }
    const body = await alphaOnly.post('/v1/compliance/apps/chats/query', { organization_ids: [w.beta.orgId] });
    assert.equal(body.status, 404);
  });

  test('lists without filters hold only the unit the key is limited to', async () => {
    const orgs = await alphaOnly.get('/v1/compliance/organizations');
    assert.deepEqual(
      orgs.body.data,
      [{ id: w.alpha.orgId, name: 'Alpha Unit', parent_id: null, created_at: orgs.body.data[0].created_at }],
      'the parent is not shown either',
    );
    const chats = await alphaOnly.get('/v1/compliance/apps/chats');
    assert.deepEqual(
      chats.body.data.map((c: { id: string }) => c.id).sort(),
      [w.ann.conversationId, w.cid.conversationId].sort(),
    );
    const files = await alphaOnly.get('/v1/compliance/apps/files');
    assert.deepEqual(files.body.data.map((c: { id: string }) => c.id).sort(), [w.ann.fileId, w.cid.fileId].sort());
    const byBea = await alphaOnly.get(`/v1/compliance/apps/chats?user_ids[]=${w.bea.userId}`);
    assert.deepEqual(byBea.body.data, []);
    const activities = await alphaOnly.get('/v1/compliance/activities?limit=1000');
    assert.ok(activities.body.data.length > 5);
    assert.deepEqual(
      [...new Set(activities.body.data.map((a: { organization_id: string }) => a.organization_id))],
      [w.alpha.orgId],
    );
    const usage = await alphaOnly.get('/v1/compliance/usage');
    assert.ok(usage.body.data.length >= 2);
    assert.ok(usage.body.data.every((u: { organization_id: string }) => u.organization_id === w.alpha.orgId));
    for (const res of [orgs, chats, files, activities, usage])
      for (const s of betaSecrets.filter((x) => x !== 'owner@root.example' && x !== 'Root Holdings'))
        assert.ok(!res.raw.body.includes(s), `leaked ${s}`);
  });

  test('a key of the whole tree sees both units; a key of another customer sees none of them', async () => {
    const whole = keyClient(w.t, (await createKey(w.root.owner, w.root.orgId, { name: 'tree' })).secret);
    const orgs = await whole.get('/v1/compliance/organizations');
    assert.deepEqual(
      orgs.body.data.map((o: { id: string }) => o.id).sort(),
      [w.root.orgId, w.alpha.orgId, w.beta.orgId].sort(),
    );
    assert.equal((await whole.get(`/v1/compliance/apps/chats/${w.bea.conversationId}/messages`)).status, 200);
    const foreign = keyClient(w.t, (await createKey(w.other.owner, w.other.orgId, { name: 'other' })).secret);
    for (const url of [
      `/v1/compliance/apps/chats/${w.ann.conversationId}/messages`,
      `/v1/compliance/organizations/${w.alpha.orgId}/users`,
      `/v1/compliance/users/${w.ann.userId}/export`,
      `/v1/compliance/apps/files/${w.ann.fileId}/content`,
    ]) {
      const res = await foreign.get(url);
      assert.equal(res.status, 404, url);
    }
    const feed = await foreign.get('/v1/compliance/activities?limit=1000');
    assert.ok(feed.body.data.every((a: { organization_id: string }) => a.organization_id === w.other.orgId));
  });
});
