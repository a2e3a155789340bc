import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { hotCacheOf } from '../../src/cache/hot-cache.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { TEST_DIALECT, type TestDatabase, openTestDatabase } from '../helpers/db.js';

/**
 * What a cached value depends on is what its load read (src/cache/hot-cache.ts): on PostgreSQL a
 * change to a table the load did not read leaves the value cached (a SCIM sync creating users must
 * not empty the organization's policy), a change to one it read is seen — from this process at once,
 * from another within a second — and a value built from another cached lookup depends on what that
 * one read, even when it was a hit. SQLite keeps one epoch for every table (one writer process).
 */
describe('hot cache: dependencies per table', { skip: TEST_DIALECT !== 'postgres' && 'PostgreSQL only' }, () => {
  let t: TestDatabase;
  let other: Database;
  const loads = { settings: 0, users: 0, outer: 0, raw: 0 };
  const cache = () => {
    const c = hotCacheOf(t.database.db);
    assert.ok(c);
    return c;
  };
  const db = () => t.database.db;
  const settings = () =>
    cache().through('settings', async () => {
      loads.settings++;
      await db().selectFrom('workspace_settings').select('org_id').where('org_id', '=', 'org_none').execute();
      return { n: loads.settings };
    });
  const users = () =>
    cache().through('users', async () => {
      loads.users++;
      await db().selectFrom('users').select('id').where('id', '=', 'usr_none').execute();
      return { n: loads.users };
    });
  const outer = () =>
    cache().through('outer', async () => {
      loads.outer++;
      await db().selectFrom('organizations').select('id').where('id', '=', 'org_none').execute();
      return { n: loads.outer, inner: await settings() };
    });
  const raw = () =>
    cache().through('raw', async () => {
      loads.raw++;
      await sql`select 1 as one`.execute(db());
      return { n: loads.raw };
    });
  /** Calls `lookup` until its loads counter passes `from` (a change was seen), at most `ms`. */
  const reloadedWithin = async (lookup: () => Promise<unknown>, counter: () => number, from: number, ms: number) => {
    const until = Date.now() + ms;
    for (;;) {
      await lookup();
      if (counter() > from) return true;
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  /** A change made by another process: its own pool, seen here through LISTEN/NOTIFY. */
  const elsewhere = (table: 'users' | 'workspace_settings') =>
    table === 'users'
      ? other.db.updateTable('users').set({ status: 'active' }).where('id', '=', 'usr_none').execute()
      : other.db
          .updateTable('workspace_settings')
          .set({ retention_days: 7 })
          .where('org_id', '=', 'org_none')
          .execute();

  before(async () => {
    t = await openTestDatabase();
    other = await openDatabase(t.url);
    // The listener opens on first use: wait until values are stored.
    const until = Date.now() + 5000;
    while (cache().size === 0) {
      assert.ok(Date.now() < until, 'the cache never stored a value (listener not listening)');
      await settings();
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    await other.close();
    await t.cleanup();
  });

  test('a value is read once while nothing it read changes, whatever else changes', async () => {
    const n = loads.settings;
    await settings();
    assert.equal(loads.settings, n, 'a hit');
    await elsewhere('users');
    await new Promise((r) => setTimeout(r, 300));
    await settings();
    assert.equal(loads.settings, n, 'a change to users leaves a value built from workspace_settings cached');
  });

  test('a change to a table it read, by another process, is seen within a second', async () => {
    const n = loads.settings;
    await elsewhere('workspace_settings');
    assert.ok(await reloadedWithin(settings, () => loads.settings, n, 1000));
    const m = loads.settings;
    await settings();
    assert.equal(loads.settings, m, 'cached again once read');
  });

  test('a value built from another cached lookup (a hit) depends on what that one read', async () => {
    await settings();
    await outer();
    const n = loads.outer;
    await outer();
    assert.equal(loads.outer, n, 'a hit');
    await elsewhere('workspace_settings');
    assert.ok(await reloadedWithin(outer, () => loads.outer, n, 1000), 'the outer value is reloaded');
  });

  test('a load that sent raw SQL depends on every table', async () => {
    await raw();
    const until = Date.now() + 1000;
    let n = loads.raw;
    while (Date.now() < until) {
      await raw();
      if (loads.raw === n) break;
      n = loads.raw;
    }
    assert.equal(loads.raw, n, 'cached');
    await elsewhere('users');
    assert.ok(await reloadedWithin(raw, () => loads.raw, n, 1000));
  });

  test("this process's own write: values that read the table are not cached for a while, the others stay", async () => {
    await settings();
    const s = loads.settings;
    await users();
    await db().updateTable('users').set({ status: 'active' }).where('id', '=', 'usr_none').execute();
    const u = loads.users;
    await users();
    await users();
    assert.equal(loads.users, u + 2, 'read from the database while its own write may not be committed everywhere');
    await settings();
    assert.equal(loads.settings, s, 'a value that did not read users is still served from the cache');
  });

  test("this process's write inside a WITH clause counts as a write of that table", async () => {
    await settings();
    await settings();
    const s = loads.settings;
    // The shape src/audit/insert-with-audit.ts sends: the change's inserts as WITH clauses of another
    // insert. Each clause's builder passes through the plugin as Kysely turns it into the statement.
    await db()
      .with('change_0', () =>
        db().updateTable('workspace_settings').set({ org_id: 'org_none' }).where('org_id', '=', 'org_none'),
      )
      .insertInto('cache_epoch')
      .values({ id: 99, epoch: 0 })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    await settings();
    await settings();
    assert.equal(loads.settings, s + 2, 'values that read workspace_settings are read again');
  });
});
