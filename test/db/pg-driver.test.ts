import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { type Database, dropPostgresSchema, openDatabase } from '../../src/db/connect.js';
import { PG_URL, TEST_DIALECT, type TestDatabase, openTestDatabase } from '../helpers/db.js';

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

/**
 * Write statements prepared once per connection (PALISADE_PG_PREPARED_STATEMENTS, default true):
 * what is prepared, what never is, and that schema changes under prepared statements (an expand
 * migration during a rolling upgrade) do not break them.
 */
describe('PostgreSQL driver: prepared writes', { skip: TEST_DIALECT !== 'postgres' && 'PostgreSQL only' }, () => {
  const schema = `t_prep_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  let prepared: Database;
  let unprepared: Database;
  before(async () => {
    prepared = await openDatabase(PG_URL, { pgSchema: schema, pgPoolSize: 1 });
    unprepared = await openDatabase(PG_URL, { pgSchema: schema, pgPoolSize: 1, pgPreparedStatements: false });
    await sql`create table prep_probe (n integer primary key, label text)`.execute(prepared.db);
  });
  after(async () => {
    await prepared.close();
    await unprepared.close();
    await dropPostgresSchema(PG_URL, schema);
  });

  /** The statements prepared on the connection a transaction runs on (the pool has one). */
  const preparedOn = async (db: Database) =>
    (
      await sql<{ statement: string }>`select statement from pg_prepared_statements order by prepare_time`.execute(
        db.db,
      )
    ).rows.map((r) => r.statement);

  test('an insert, update or delete is prepared once and executed again; selects and RETURNING never are', async () => {
    const db = prepared.db;
    for (let n = 1; n <= 3; n++)
      await db
        .insertInto('prep_probe' as never)
        .values({ n, label: 'a' } as never)
        .execute();
    await db
      .updateTable('prep_probe' as never)
      .set({ label: 'b' } as never)
      .where('n' as never, '=', 1 as never)
      .execute();
    await db
      .deleteFrom('prep_probe' as never)
      .where('n' as never, '=', 3 as never)
      .execute();
    await db
      .insertInto('prep_probe' as never)
      .values({ n: 9, label: 'r' } as never)
      .returning('n' as never)
      .execute();
    await db
      .selectFrom('prep_probe' as never)
      .selectAll()
      .where('n' as never, '=', 1 as never)
      .execute();
    const statements = await preparedOn(prepared);
    assert.equal(statements.filter((s) => s.startsWith('insert into "prep_probe"')).length, 1, statements.join('\n'));
    assert.equal(statements.filter((s) => s.startsWith('update "prep_probe"')).length, 1);
    assert.equal(statements.filter((s) => s.startsWith('delete from "prep_probe"')).length, 1);
    assert.ok(!statements.some((s) => /returning|^select/i.test(s)), statements.join('\n'));
    const { rows } = await sql<{ n: number; label: string }>`select n, label from prep_probe order by n`.execute(db);
    assert.deepEqual(rows, [
      { n: 1, label: 'b' },
      { n: 2, label: 'a' },
      { n: 9, label: 'r' },
    ]);
  });

  test('a column added and a column type changed under a prepared insert: it is re-planned, not broken', async () => {
    const db = prepared.db;
    const insert = (n: number) =>
      db
        .insertInto('prep_probe' as never)
        .values({ n, label: 'x' } as never)
        .execute();
    await insert(20);
    await sql`alter table prep_probe add column extra text default 'new'`.execute(db);
    await insert(21);
    await sql`alter table prep_probe alter column label type varchar(40)`.execute(db);
    await insert(22);
    const { rows } = await sql<{
      n: number;
      extra: string;
    }>`select n, extra from prep_probe where n >= 20 order by n`.execute(db);
    assert.deepEqual(rows, [
      { n: 20, extra: 'new' },
      { n: 21, extra: 'new' },
      { n: 22, extra: 'new' },
    ]);
  });

  test('PALISADE_PG_PREPARED_STATEMENTS=false: nothing is prepared on the server', async () => {
    await unprepared.db
      .insertInto('prep_probe' as never)
      .values({ n: 30, label: 'u' } as never)
      .execute();
    await unprepared.db
      .insertInto('prep_probe' as never)
      .values({ n: 31, label: 'u' } as never)
      .execute();
    assert.deepEqual(await preparedOn(unprepared), []);
  });
});
