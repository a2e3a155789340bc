import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { TEST_DIALECT, type TestDatabase, openTestDatabase } from '../helpers/db.js';

/**
 * Palisade's PostgreSQL driver (src/db/pg-driver.ts) stands in for Kysely's: the transaction
 * controls Kysely offers must behave as they did (settings, savepoints, a COMMIT the server turns
 * into a ROLLBACK). Connections ended while idle: test/db/pg-idle-connections.test.ts.
 */
describe('PostgreSQL driver: transactions', { skip: TEST_DIALECT !== 'postgres' && 'PostgreSQL only' }, () => {
  let t: TestDatabase;
  before(async () => {
    t = await openTestDatabase({ migrate: false });
    await sql`create table driver_probe (n integer primary key)`.execute(t.database.db);
  });
  after(() => t.cleanup());

  const count = async () =>
    (await sql<{ n: number }>`select count(*)::int as n from driver_probe`.execute(t.database.db)).rows[0]?.n;

  test('isolation level and access mode reach the server', async () => {
    const level = await t.database.db
      .transaction()
      .setIsolationLevel('serializable')
      .execute(
        async (trx) =>
          (await sql<{ transaction_isolation: string }>`show transaction_isolation`.execute(trx)).rows[0]
            ?.transaction_isolation,
      );
    assert.equal(level, 'serializable');
    await assert.rejects(
      t.database.db
        .transaction()
        .setAccessMode('read only')
        .execute((trx) => sql`insert into driver_probe (n) values (1)`.execute(trx)),
      (err: Error & { code?: string }) => err.code === '25006',
    );
    assert.equal(await count(), 0);
  });

  test('savepoints: a rolled-back savepoint undoes only its part; names are quoted', async () => {
    await sql`delete from driver_probe`.execute(t.database.db);
    const trx = await t.database.db.startTransaction().execute();
    await sql`insert into driver_probe (n) values (1)`.execute(trx);
    const sp = await trx.savepoint('odd "name"').execute();
    await sql`insert into driver_probe (n) values (2)`.execute(sp);
    const back = await sp.rollbackToSavepoint('odd "name"').execute();
    const sp2 = await back.savepoint('second').execute();
    await sql`insert into driver_probe (n) values (3)`.execute(sp2);
    const released = await sp2.releaseSavepoint('second').execute();
    await released.commit().execute();
    const { rows } = await sql<{ n: number }>`select n from driver_probe order by n`.execute(t.database.db);
    assert.deepEqual(
      rows.map((r) => r.n),
      [1, 3],
    );
  });

  test('a transaction an error aborted is refused at COMMIT, and nothing of it is stored', async () => {
    await sql`delete from driver_probe`.execute(t.database.db);
    const trx = await t.database.db.startTransaction().execute();
    await sql`insert into driver_probe (n) values (1)`.execute(trx);
    // The caller swallows an error: PostgreSQL has aborted the transaction and answers COMMIT with ROLLBACK.
    await assert.rejects(sql`insert into driver_probe (n) values (1)`.execute(trx));
    await assert.rejects(trx.commit().execute(), /rolled back instead of committed/);
    assert.equal(await count(), 0);
    // The connection went back to the pool usable.
    await t.database.db.transaction().execute((x) => sql`insert into driver_probe (n) values (7)`.execute(x));
    assert.equal(await count(), 1);
  });

  test('a failed statement inside a transaction rolls the whole transaction back', async () => {
    await sql`delete from driver_probe`.execute(t.database.db);
    await assert.rejects(
      t.database.db.transaction().execute(async (trx) => {
        await sql`insert into driver_probe (n) values (1)`.execute(trx);
        await sql`insert into driver_probe (n) values (1)`.execute(trx);
      }),
      (err: Error & { code?: string }) => err.code === '23505',
    );
    assert.equal(await count(), 0);
  });
});
