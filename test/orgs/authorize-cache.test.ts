import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hotCacheOf } from '../../src/cache/hot-cache.js';
import { openDatabase } from '../../src/db/connect.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { Agent, type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * `authorize()` (src/orgs/authorize.ts) takes a member's role in an organization from the
 * per-process cache. What must hold, on both engines: a role change, a suspension, a removal or a
 * suspended organization applies to the very next request in the same process, and within a second
 * in another process (another app on its own pool: LISTEN/NOTIFY, SQLite's epoch row); a refusal is
 * never cached, so someone let in is let in at once. Each test first proves the role came from the
 * cache (an entry named for it is held).
 */
describe(`API authorization through the cache (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;

  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Gatehouse', 'owner@gatehouse.example'));
  });
  after(() => t.close());

  /** An admin-only read, sent to `at` with the person's session (the same session on another instance). */
  const auditLog = (who: Agent, at: TestApp = t) => {
    let agent = who;
    if (at !== t) {
      agent = new Agent(at.app, who.email);
      agent.cookie = who.cookie;
    }
    return agent.get(`/api/v1/orgs/${orgId}/audit-events?limit=1`);
  };
  const memberIdOf = async (email: string): Promise<string> => {
    const list = await owner.get(`/api/v1/orgs/${orgId}/members?limit=200`);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const m = (list.body.data as { id: string; email: string }[]).find((x) => x.email === email);
    assert.ok(m, `${email} is a member`);
    return m.id;
  };
  /** Requests until the role is served from the cache (PostgreSQL: once the listener listens and no local write is recent). */
  const warm = async (who: Agent, app: TestApp = t) => {
    const cache = hotCacheOf(app.db.database.db);
    assert.ok(cache, 'the database opened by the app has a cache');
    const deadline = Date.now() + 6_000;
    for (;;) {
      const before = cache.size;
      const r = await auditLog(who, app);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      if (before > 0 && cache.size === before) return;
      assert.ok(Date.now() < deadline, `the cache never settles (${cache.size} entries)`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  test('a demoted admin is refused on the next request; promoted again, let in on the next', async () => {
    const email = 'admin1@gatehouse.example';
    const { agent: admin } = await t.addMember(owner, orgId, email, 'admin');
    await warm(admin);
    const id = await memberIdOf(email);
    const demote = await owner.request('PATCH', `/api/v1/orgs/${orgId}/members/${id}`, { role: 'member' });
    assert.equal(demote.status, 200, JSON.stringify(demote.body));
    const refused = await auditLog(admin);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'missing_permission_audit_read');
    const promote = await owner.request('PATCH', `/api/v1/orgs/${orgId}/members/${id}`, { role: 'admin' });
    assert.equal(promote.status, 200, JSON.stringify(promote.body));
    assert.equal((await auditLog(admin)).status, 200, 'let in again at once');
  });

  test('a suspended and a removed member are refused on the next request', async () => {
    const email = 'admin2@gatehouse.example';
    const { agent: admin } = await t.addMember(owner, orgId, email, 'admin');
    await warm(admin);
    const id = await memberIdOf(email);
    const suspend = await owner.post(`/api/v1/orgs/${orgId}/members/${id}/suspend`, {});
    assert.ok(suspend.status < 300, JSON.stringify(suspend.body));
    const whileSuspended = await auditLog(admin);
    assert.equal(whileSuspended.status, 403, JSON.stringify(whileSuspended.body));
    assert.equal(whileSuspended.body.error.code, 'membership_suspended');
    const reactivate = await owner.post(`/api/v1/orgs/${orgId}/members/${id}/reactivate`, {});
    assert.ok(reactivate.status < 300, JSON.stringify(reactivate.body));
    await warm(admin);
    const remove = await owner.request('DELETE', `/api/v1/orgs/${orgId}/members/${id}`);
    assert.ok(remove.status < 300, JSON.stringify(remove.body));
    const removed = await auditLog(admin);
    assert.equal(removed.status, 404, JSON.stringify(removed.body));
  });

  test('another instance (its own pool) refuses an admin demoted here within a second', async () => {
    const email = 'admin3@gatehouse.example';
    const { agent: admin } = await t.addMember(owner, orgId, email, 'admin');
    const second = await openDatabase(t.db.url);
    const other = await createTestApp(
      { masterKey: t.config.masterKey },
      { database: { database: second, url: t.db.url, cleanup: () => second.close() } },
    );
    try {
      await warm(admin, other);
      const id = await memberIdOf(email);
      const demote = await owner.request('PATCH', `/api/v1/orgs/${orgId}/members/${id}`, { role: 'member' });
      assert.equal(demote.status, 200, JSON.stringify(demote.body));
      const start = Date.now();
      for (;;) {
        const r = await auditLog(admin, other);
        if (r.status === 403) break;
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(Date.now() - start < 1_000, `still let in after ${Date.now() - start} ms`);
        await new Promise((res) => setTimeout(res, 20));
      }
    } finally {
      await other.close();
    }
  });
});
