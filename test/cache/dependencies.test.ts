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

  test('a raw fragment inside a built statement (a descending order) adds only the tables it names', async () => {
    let sorted = 0;
    let fragment = 0;
    // Kysely writes the direction of orderBy(…, 'desc') as a raw fragment naming no table.
    const sortedLoad = () =>
      cache().through('sorted', async () => {
        sorted++;
        await db()
          .selectFrom('workspace_settings')
          .select('org_id')
          .where('org_id', '=', 'org_none')
          .orderBy('org_id', 'desc')
          .execute();
        return { n: sorted };
      });
    // A raw fragment that reads a table names it.
    const fragmentLoad = () =>
      cache().through('fragment', async () => {
        fragment++;
        await db()
          .selectFrom('organizations')
          .select('id')
          .where(sql<boolean>`exists (select 1 from "users" where "id" = 'usr_none')`)
          .execute();
        return { n: fragment };
      });
    await sortedLoad();
    await fragmentLoad();
    const s = sorted;
    const f = fragment;
    await sortedLoad();
    await fragmentLoad();
    assert.deepEqual([sorted, fragment], [s, f], 'both cached');
    await elsewhere('users');
    assert.ok(
      await reloadedWithin(fragmentLoad, () => fragment, f, 1000),
      'the fragment that names users is read again',
    );
    await sortedLoad();
    assert.equal(sorted, s, 'a change to users leaves the sorted workspace_settings value cached');
    await elsewhere('workspace_settings');
    assert.ok(await reloadedWithin(sortedLoad, () => sorted, s, 1000), 'a change to the table it read is seen');
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

  // New rows about people (migration 0028): a value about one person ignores other people's new users
  // and memberships; a value about anyone does not.
  const people = { a: 0, anyone: 0 };
  const aboutA = () =>
    cache().through(
      'about-a',
      async () => {
        people.a++;
        await db().selectFrom('memberships').select('id').where('user_id', '=', 'usr_a').execute();
        await db().selectFrom('users').select('id').where('id', '=', 'usr_a').execute();
        return { n: people.a };
      },
      undefined,
      () => 'usr_a',
    );
  const anyone = () =>
    cache().through('anyone', async () => {
      people.anyone++;
      await db().selectFrom('memberships').select('id').where('org_id', '=', 'org_people').execute();
      return { n: people.anyone };
    });
  const at = new Date().toISOString();
  const newUser = (by: Database, id: string) =>
    by.db
      .insertInto('users')
      .values({
        id,
        email: `${id}@people.example`,
        display_name: null,
        password_hash: null,
        status: 'active',
        created_at: at,
        updated_at: at,
        email_verified_at: null,
        password_changed_at: null,
      })
      .execute();
  const newMembership = (by: Database, userId: string) =>
    by.db
      .insertInto('memberships')
      .values({
        id: `mem_${userId}_${Math.random().toString(36).slice(2)}`,
        org_id: 'org_people',
        user_id: userId,
        role: 'member',
        status: 'active',
        invited_by: null,
        created_at: at,
        updated_at: at,
        suspended_at: null,
        suspended_by_directory_id: null,
      })
      .execute();
  /** Calls `lookup` until two calls in a row load nothing (it is cached), at most 3 s. */
  const settled = async (lookup: () => Promise<unknown>, counter: () => number) => {
    const until = Date.now() + 3000;
    for (;;) {
      const n = counter();
      await lookup();
      await lookup();
      if (counter() === n) return;
      assert.ok(Date.now() < until, 'the value never stayed cached');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('a new user or membership of someone else, made by another process, leaves a value about a person cached', async () => {
    await other.db
      .insertInto('organizations')
      .values({
        id: 'org_people',
        parent_id: null,
        name: 'People',
        billing_email: null,
        status: 'active',
        created_at: at,
        updated_at: at,
        deleted_at: null,
      })
      .execute();
    await newUser(other, 'usr_a');
    await settled(aboutA, () => people.a);
    await settled(anyone, () => people.anyone);
    const a = people.a;
    const n = people.anyone;
    await newUser(other, 'usr_b');
    await newMembership(other, 'usr_b');
    assert.ok(await reloadedWithin(anyone, () => people.anyone, n, 1000), 'a value about anyone is read again');
    await aboutA();
    assert.equal(people.a, a, "usr_b's new rows leave the value about usr_a cached");
    await newMembership(other, 'usr_a');
    assert.ok(await reloadedWithin(aboutA, () => people.a, a, 1000), "usr_a's new membership is seen within a second");
  });

  test("this process's own insert about someone else leaves it cached; about the person, it is read again", async () => {
    // (The membership test 7 made goes, so that usr_a can be made a member again below.)
    await other.db.deleteFrom('memberships').where('user_id', '=', 'usr_a').execute();
    await new Promise((r) => setTimeout(r, 100));
    await settled(aboutA, () => people.a);
    const a = people.a;
    const n = people.anyone;
    await newUser(t.database, 'usr_c');
    await newMembership(t.database, 'usr_c');
    await aboutA();
    await anyone();
    await anyone();
    assert.equal(people.a, a, 'cached: the rows are about usr_c');
    assert.equal(people.anyone, n + 2, 'a value about anyone is not cached while the insert may be uncommitted');
    await newMembership(t.database, 'usr_a');
    await aboutA();
    await aboutA();
    assert.equal(people.a, a + 2, 'about usr_a: read from the database while its own insert may be uncommitted');
  });

  test('more people in one statement than a notification names: every value that read the table is read again', async () => {
    await settled(aboutA, () => people.a);
    const a = people.a;
    const ids = Array.from({ length: 60 }, (_, i) => `usr_bulk_${i}`);
    await other.db
      .insertInto('users')
      .values(
        ids.map((id) => ({
          id,
          email: `${id}@people.example`,
          display_name: null,
          password_hash: null,
          status: 'active' as const,
          created_at: at,
          updated_at: at,
          email_verified_at: null,
          password_changed_at: null,
        })),
      )
      .execute();
    assert.ok(await reloadedWithin(aboutA, () => people.a, a, 1000));
  });
});
