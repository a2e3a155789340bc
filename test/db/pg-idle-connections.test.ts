import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import { type Database, dropPostgresSchema, openDatabase } from '../../src/db/connect.js';
import { databaseFaultOf } from '../../src/db/faults.js';
import { PG_URL, TEST_DIALECT } from '../helpers/db.js';
import { type Relay, startRelay } from '../helpers/pg-relay.js';

/**
 * Connections the server ends while they sit idle in the pool (a restart, a failover,
 * pg_terminate_backend, a pooler's idle timeout) must not fail the requests that draw them next:
 * the first statement of a checkout, when it changes nothing, moves to a new connection. A write on
 * its own is never sent twice.
 *
 * The pool reaches the shared server through a TCP relay on loopback (test/helpers/pg-relay.ts).
 */
describe('PostgreSQL connections ended while idle', { skip: TEST_DIALECT !== 'postgres' && 'PostgreSQL only' }, () => {
  const schema = `t_idle_${randomBytes(4).toString('hex')}`;
  let relay: Relay;
  let database: Database;
  before(async () => {
    const target = new URL(PG_URL);
    relay = await startRelay(target);
    const viaRelay = new URL(PG_URL);
    viaRelay.port = String(relay.port);
    database = await openDatabase(viaRelay.toString(), { pgSchema: schema, pgPoolSize: 5 });
    await sql`create table idle_probe (n integer not null)`.execute(database.db);
  });
  after(async () => {
    await database?.close();
    await relay?.close();
    await dropPostgresSchema(PG_URL, schema);
  });

  /** Fills the pool (5 connections), returns them idle, and ends every one behind the pool's back. */
  async function endEveryPooledConnection(): Promise<void> {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let held = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        database.db.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          if (++held === 5) open();
          await gate;
        }),
      ),
    );
    assert.ok(relay.sever() >= 5, 'the five pooled connections were open');
  }

  test('reads and transactions that draw a dead connection succeed on a new one', async () => {
    for (let round = 0; round < 3; round++) {
      await endEveryPooledConnection();
      // Five reads at once: each draws one of the five dead connections.
      const reads = await Promise.all(
        Array.from({ length: 5 }, () => sql<{ one: number }>`select 1 as one`.execute(database.db)),
      );
      assert.deepEqual(
        reads.map((r) => r.rows[0]?.one),
        [1, 1, 1, 1, 1],
      );
      await endEveryPooledConnection();
      const written = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          database.db.transaction().execute(async (trx) => {
            await sql`insert into idle_probe (n) values (${round * 10 + i})`.execute(trx);
            return i;
          }),
        ),
      );
      assert.deepEqual(written, [0, 1, 2, 3, 4]);
    }
    const { rows } = await sql<{ count: number }>`select count(*)::int as count from idle_probe`.execute(database.db);
    assert.equal(rows[0]?.count, 15, 'every transaction applied exactly once');
  });

  test('a write sent on its own is never repeated: it fails with database_unavailable and nothing is applied', async () => {
    await sql`delete from idle_probe`.execute(database.db);
    await endEveryPooledConnection();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => sql`insert into idle_probe (n) values (${100 + i})`.execute(database.db)),
    );
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected', 'a lone write on a dead connection is not sent again');
      assert.equal(databaseFaultOf((o as PromiseRejectedResult).reason)?.code, 'database_unavailable');
    }
    const { rows } = await sql<{ n: number }>`select n from idle_probe`.execute(database.db);
    assert.equal(rows.length, 0);
    // The pool dropped the dead connections: the same write now succeeds.
    await sql`insert into idle_probe (n) values (1)`.execute(database.db);
  });
});
