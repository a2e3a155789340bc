import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { hotCacheOf } from '../../src/cache/hot-cache.js';
import { openDatabase } from '../../src/db/connect.js';
import { flushGatewayWrites } from '../../src/gateway/write-behind.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';

/**
 * The gateway keeps keys, access, policy and the provider in a per-process cache (src/cache/).
 * Every change must take effect on the next request in the same process, and within a second in
 * another process (another app on its own connection pool: PostgreSQL's LISTEN/NOTIFY, SQLite's
 * epoch row). Each test first proves the cache is in use (entries held after a request), then
 * changes one thing and sends the very next request.
 */
describe(`gateway cache invalidation (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let up: ModelUpstream;
  let base: string;
  let orgId: string;
  let owner: Agent;
  let member: Agent;
  let memberUserId: string;

  before(async () => {
    up = await startModelUpstream();
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const a = await t.seedOrg('Cachet', 'owner@cachet.example');
    orgId = a.orgId;
    owner = a.owner;
    member = (await t.addMember(owner, orgId, 'member@cachet.example', 'member')).agent;
    const r = await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
      name: 'Loopback',
      kind: 'anthropic',
      baseUrl: up.url,
      apiKey: 'sk-first',
    });
    assert.equal(r.status, 200, r.raw.body);
  });
  after(async () => {
    t.app.server.closeAllConnections();
    await t.close();
    await up.close();
  });

  const newKey = async (who: Agent = member): Promise<{ key: string; id: string; userId: string }> => {
    const k = await who.post(`/api/v1/orgs/${orgId}/gateway/keys`, { name: 'k' });
    assert.equal(k.status, 201, k.raw.body);
    return { key: k.body.key, id: k.body.gatewayKey.id, userId: k.body.gatewayKey.userId };
  };
  const send = async (at: string, key: string, model = 'claude-test') => {
    const res = await fetch(`${at}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] }),
    });
    return { status: res.status, body: (await res.json()) as { error?: { type: string; message: string } } };
  };
  /** Requests until the cache holds entries (PostgreSQL: once the listener listens and no local write is recent). */
  const warm = async (app: TestApp, at: string, key: string) => {
    const cache = hotCacheOf(app.db.database.db);
    assert.ok(cache, 'the database opened by the app has a cache');
    const deadline = Date.now() + 6_000;
    for (;;) {
      const r = await send(at, key);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      if (cache.size >= 5) return;
      assert.ok(Date.now() < deadline, `the cache stays empty (${cache.size} entries)`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  test('a revoked key is refused on the next request', async () => {
    const k = await newKey();
    await warm(t, base, k.key);
    const del = await member.request('DELETE', `/api/v1/orgs/${orgId}/gateway/keys/${k.id}`);
    assert.equal(del.status, 200, del.raw.body);
    const r = await send(base, k.key);
    assert.equal(r.status, 401, JSON.stringify(r.body));
  });

  test('a suspended member is refused on the next request, and let in again once reactivated', async () => {
    const k = await newKey();
    memberUserId = k.userId;
    await warm(t, base, k.key);
    // Written as SCIM would, straight to the table: no route of the gateway is told.
    await t.db.database.db
      .updateTable('memberships')
      .set({ status: 'suspended' })
      .where('org_id', '=', orgId)
      .where('user_id', '=', memberUserId)
      .execute();
    const refused = await send(base, k.key);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(refused.body.error?.message ?? '', /membership_suspended/);
    await t.db.database.db
      .updateTable('memberships')
      .set({ status: 'active' })
      .where('org_id', '=', orgId)
      .where('user_id', '=', memberUserId)
      .execute();
    assert.equal((await send(base, k.key)).status, 200);
  });

  test('a changed IP allowlist and training policy apply to the next request', async () => {
    const k = await newKey();
    await warm(t, base, k.key);
    assert.equal(up.seen.at(-1)?.headers['palisade-no-training'], 'true');
    // The admin's own address (203.0.113.10) stays allowed; the gateway client (127.0.0.1) does not.
    const set = await owner.request('PATCH', `/api/v1/orgs/${orgId}/workspace/settings`, {
      ipAllowlist: ['203.0.113.0/24'],
    });
    assert.equal(set.status, 200, set.raw.body);
    const blocked = await send(base, k.key);
    assert.equal(blocked.status, 403, JSON.stringify(blocked.body));
    assert.match(blocked.body.error?.message ?? '', /IP allowlist/);
    const open = await owner.request('PATCH', `/api/v1/orgs/${orgId}/workspace/settings`, {
      ipAllowlist: null,
      noTraining: false,
    });
    assert.equal(open.status, 200, open.raw.body);
    assert.equal((await send(base, k.key)).status, 200);
    assert.equal(up.seen.at(-1)?.headers['palisade-no-training'], 'false');
    await owner.request('PATCH', `/api/v1/orgs/${orgId}/workspace/settings`, { noTraining: true });
  });

  test('a changed provider (credential, allowed models) applies to the next request', async () => {
    const k = await newKey();
    await warm(t, base, k.key);
    assert.equal(up.seen.at(-1)?.headers['x-api-key'], 'sk-first');
    const put = await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
      name: 'Loopback',
      kind: 'anthropic',
      baseUrl: up.url,
      apiKey: 'sk-rotated',
      allowedModels: ['claude-*'],
    });
    assert.equal(put.status, 200, put.raw.body);
    assert.equal((await send(base, k.key)).status, 200);
    assert.equal(up.seen.at(-1)?.headers['x-api-key'], 'sk-rotated');
    await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
      name: 'Loopback',
      kind: 'anthropic',
      baseUrl: up.url,
      allowedModels: ['other-*'],
    });
    const refused = await send(base, k.key);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
  });

  test('usage counters are batched, and a usage report includes every request answered', async () => {
    const k = await newKey(owner);
    await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
      name: 'Loopback',
      kind: 'anthropic',
      baseUrl: up.url,
      allowedModels: null,
    });
    const before = await owner.get(`/api/v1/orgs/${orgId}/gateway/usage`);
    const count = (body: { data: { userId: string; requests: number }[] }) =>
      body.data.filter((r) => r.userId === k.userId).reduce((n, r) => n + r.requests, 0);
    for (let i = 0; i < 5; i++) assert.equal((await send(base, k.key)).status, 200);
    const report = await owner.get(`/api/v1/orgs/${orgId}/gateway/usage`);
    assert.equal(count(report.body) - count(before.body), 5);
    const keys = await owner.get(`/api/v1/orgs/${orgId}/gateway/keys`);
    const listed = (keys.body.data as { id: string; lastUsedAt: string | null }[]).find((x) => x.id === k.id);
    assert.ok(listed?.lastUsedAt, 'the key shows when it was last used');
    await flushGatewayWrites(t.db.database.db);
  });

  test('another instance (its own pool) refuses a key revoked here, and a member suspended there, within a second', async () => {
    const second = await openDatabase(t.db.url);
    const other = await createTestApp(
      { masterKey: t.config.masterKey },
      { database: { database: second, url: t.db.url, cleanup: () => second.close() } },
    );
    try {
      await other.app.listen({ port: 0, host: '127.0.0.1' });
      const otherBase = `http://127.0.0.1:${(other.app.server.address() as AddressInfo).port}`;
      const k = await newKey();
      const k2 = await newKey();
      await warm(other, otherBase, k.key);
      await warm(t, base, k2.key);
      const del = await member.request('DELETE', `/api/v1/orgs/${orgId}/gateway/keys/${k.id}`);
      assert.equal(del.status, 200, del.raw.body);
      const within = async (at: string, key: string, status: number) => {
        const start = Date.now();
        for (;;) {
          const r = await send(at, key);
          if (r.status === status) return Date.now() - start;
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.ok(Date.now() - start < 1_000, `still answered 200 after ${Date.now() - start} ms`);
          await new Promise((res) => setTimeout(res, 20));
        }
      };
      await within(otherBase, k.key, 401);
      // The other way round, as the CLI would: a write on the other instance's connection.
      await second.db.updateTable('users').set({ status: 'suspended' }).where('id', '=', k2.userId).execute();
      await within(base, k2.key, 401);
      await second.db.updateTable('users').set({ status: 'active' }).where('id', '=', k2.userId).execute();
    } finally {
      other.app.server.closeAllConnections();
      await other.app.close();
      await second.close();
    }
  });
});
