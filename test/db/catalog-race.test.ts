import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { openDatabase } from '../../src/db/connect.js';
import { PG_URL, TEST_DIALECT } from '../helpers/db.js';

// PostgreSQL only: Kysely's introspector (used by the migrator) reads every schema's tables, and
// fails with 3F000 when another schema is dropped meanwhile (parallel test runs, shared servers).
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
        await admin.query(`create schema if not exists ${s}; create table if not exists ${s}.a (x serial, y int); create table if not exists ${s}.b (x int)`);
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
});
