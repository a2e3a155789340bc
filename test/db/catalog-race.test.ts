import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kysely, PostgresDialect, PostgresIntrospector } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../../src/db/connect.js';
import { openTestDatabase, PG_URL, TEST_DIALECT } from '../helpers/db.js';

// PostgreSQL only. Kysely's own introspector (used by the migrator) reads every schema's tables and
// fails when another schema or table is dropped meanwhile (parallel test runs, shared servers);
// Palisade's reads only the schemas on its search path.
describe('PostgreSQL catalog reads while other schemas are dropped', { skip: TEST_DIALECT !== 'postgres' }, () => {
  test('introspection (the migrator finding its table) succeeds while other schemas are created and dropped', async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const tag = `race_${Date.now().toString(36)}`;
    let stop = false;
    let churned = 0;
    const churn = (async () => {
      for (let i = 0; !stop; i++) {
        const s = `${tag}_${i % 4}`;
        await admin.query(
          `create schema if not exists ${s}; create table if not exists ${s}.a (x serial, y int); create table if not exists ${s}.b (x int)`,
        );
        await admin.query(`drop schema ${s} cascade`);
        churned++;
      }
    })();
    const database = await openDatabase(PG_URL);
    try {
      for (let i = 0; i < 300; i++) await database.db.introspection.getTables({ withInternalKyselyTables: true });
    } finally {
      stop = true;
      await churn;
      await admin.end();
      await database.close();
    }
    assert.ok(churned > 10, `schemas were dropped during the reads (${churned})`);
  });

  test("the tables of Palisade's own schema are described as Kysely describes them, and no other schema's", async () => {
    const test = await openTestDatabase();
    const kysely = new Kysely<unknown>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: PG_URL, max: 1 }) }),
    });
    try {
      const ours = await test.database.db.introspection.getTables({ withInternalKyselyTables: true });
      const theirs = (await new PostgresIntrospector(kysely).getTables({ withInternalKyselyTables: true })).filter(
        (t) => t.schema === test.database.schema,
      );
      assert.ok(ours.length > 20, `found ${ours.length} tables`);
      assert.ok(
        ours.every((t) => t.schema === test.database.schema),
        'only the search-path schema',
      );
      // Through JSON: Kysely writes `comment: undefined` where Palisade's leaves the key out.
      const plain = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;
      assert.deepEqual(plain(ours), plain(theirs));
      const withoutInternal = await test.database.db.introspection.getTables();
      assert.equal(
        withoutInternal.length,
        ours.length - 2,
        'kysely_migration and its lock table are left out by default',
      );
    } finally {
      await kysely.destroy();
      await test.cleanup();
    }
  });
});
