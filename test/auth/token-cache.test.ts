import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hotCacheOf } from '../../src/cache/hot-cache.js';
import { openDatabase } from '../../src/db/connect.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { TEST_DIALECT } from '../helpers/db.js';

/**
 * Personal API tokens and a member's workspace access are read through the per-process cache
 * (src/cache/hot-cache.ts) on every request. Each test proves the cache holds entries first, then
 * changes one thing and sends the very next request: it must see the change (another instance
 * within a second).
 */
describe(`API tokens and workspace access through the cache (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let member: Agent;
  let memberId: string;

  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Tokcache', 'owner@tokcache.example'));
    ({ agent: member, memberId } = await t.addMember(owner, orgId, 'member@tokcache.example', 'member'));
  });
  after(() => t.close());

  const script = async (who: Agent): Promise<{ agent: Agent; tokenId: string }> => {
    const created = await who.post('/api/v1/me/tokens', { name: 'script' });
    assert.equal(created.status, 201, created.raw.body);
    const agent = t.anonymous();
    agent.bearer = created.body.token;
    return { agent, tokenId: created.body.apiToken.id };
  };
  const listConversations = (a: Agent) => a.get(`/api/v1/orgs/${orgId}/conversations`);
  /** Requests until the cache holds entries (PostgreSQL: once the listener listens and no local write is recent). */
  const warm = async (app: TestApp, a: Agent) => {
    const cache = hotCacheOf(app.db.database.db);
    assert.ok(cache, 'the database opened by the app has a cache');
    const deadline = Date.now() + 6_000;
    for (;;) {
      const r = await listConversations(a);
      assert.equal(r.status, 200, r.raw.body);
      if (cache.size >= 2) return;
      assert.ok(Date.now() < deadline, `the cache stays empty (${cache.size} entries)`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  test('a revoked token is refused on the next request', async () => {
    const { agent, tokenId } = await script(member);
    assert.ok(tokenId, 'the token has an id');
    await warm(t, agent);
    const del = await member.request('DELETE', `/api/v1/me/tokens/${tokenId}`);
    assert.equal(del.status, 200, del.raw.body);
    const r = await listConversations(agent);
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'invalid_token');
  });

  test('a member suspended, then removed, is refused on the next request with their token', async () => {
    const { agent } = await script(member);
    await warm(t, agent);
    const suspend = await owner.post(`/api/v1/orgs/${orgId}/members/${memberId}/suspend`, {});
    assert.equal(suspend.status, 200, suspend.raw.body);
    const r = await listConversations(agent);
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'membership_suspended');
    assert.equal((await owner.post(`/api/v1/orgs/${orgId}/members/${memberId}/reactivate`, {})).status, 200);
    await warm(t, agent);
    const removed = await owner.request('DELETE', `/api/v1/orgs/${orgId}/members/${memberId}`);
    assert.ok(removed.status < 300, removed.raw.body);
    assert.equal((await listConversations(agent)).status, 404);
  });

  test('last use is still recorded at most once a minute while the token is cached', async () => {
    const { agent, tokenId } = await script(owner);
    await warm(t, agent);
    const lastUsed = async () =>
      (
        await t.db.database.db
          .selectFrom('api_tokens')
          .select('last_used_at')
          .where('id', '=', tokenId)
          .executeTakeFirstOrThrow()
      ).last_used_at;
    const first = await lastUsed();
    assert.ok(first, 'the first use is recorded');
    await listConversations(agent);
    assert.equal(await lastUsed(), first, 'not rewritten within the minute');
    t.clock.advance(61_000);
    await listConversations(agent);
    const second = await lastUsed();
    assert.ok(second && second > first, `recorded again after a minute (${first} → ${second})`);
    await listConversations(agent);
    assert.equal(await lastUsed(), second, 'and then not on every request');
  });

  test('a token revoked on another instance (its own pool) is refused here within a second', async () => {
    const second = await openDatabase(t.db.url);
    try {
      const { agent, tokenId } = await script(owner);
      await warm(t, agent);
      // As the CLI or another instance would: a write on another connection pool.
      await second.db
        .updateTable('api_tokens')
        .set({ revoked_at: new Date().toISOString() })
        .where('id', '=', tokenId)
        .execute();
      const start = Date.now();
      for (;;) {
        const r = await listConversations(agent);
        if (r.status === 401) break;
        assert.equal(r.status, 200, r.raw.body);
        assert.ok(Date.now() - start < 1_000, `still answered 200 after ${Date.now() - start} ms`);
        await new Promise((res) => setTimeout(res, 20));
      }
    } finally {
      await second.close();
    }
  });

  test('SCIM: a token rotated with no overlap, or a deleted directory, is refused on the next request', async () => {
    const created = await owner.post(`/api/v1/orgs/${orgId}/scim/directories`, { name: 'Okta' });
    assert.equal(created.status, 201, created.raw.body);
    const dirId: string = created.body.directory.id;
    const scim = (token: string) =>
      t.app.inject({ method: 'GET', url: `/scim/v2/${dirId}/Users`, headers: { authorization: `Bearer ${token}` } });
    const cache = hotCacheOf(t.db.database.db)!;
    const warmScim = async (token: string) => {
      const deadline = Date.now() + 6_000;
      for (;;) {
        const r = await scim(token);
        assert.equal(r.statusCode, 200, r.body);
        if (cache.size >= 1) return;
        assert.ok(Date.now() < deadline, 'the cache stays empty');
        await new Promise((res) => setTimeout(res, 100));
      }
    };
    await warmScim(created.body.token);
    const rotated = await owner.post(`/api/v1/orgs/${orgId}/scim/directories/${dirId}/rotate-token`, {
      overlapHours: 0,
    });
    assert.equal(rotated.status, 200, rotated.raw.body);
    assert.equal((await scim(created.body.token)).statusCode, 401, 'the old token, at once');
    await warmScim(rotated.body.token);
    assert.equal((await owner.request('DELETE', `/api/v1/orgs/${orgId}/scim/directories/${dirId}`)).status, 204);
    assert.equal((await scim(rotated.body.token)).statusCode, 401, 'the directory is gone');
  });
});
