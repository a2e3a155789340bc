import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock, systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { Scheduler, jobStatuses } from '../../src/jobs/scheduler.js';
import { TEST_DIALECT, type TestDatabase, openTestDatabase } from '../helpers/db.js';

describe('job scheduler', () => {
  let tdb: TestDatabase;
  let second: Database;
  const clock = new ManualClock('2026-03-01T00:00:00Z');
  const config = loadConfig({});
  before(async () => {
    tdb = await openTestDatabase();
    // A second, independent connection pool to the same database: another Palisade process.
    second = TEST_DIALECT === 'postgres' ? await openDatabase(tdb.url) : tdb.database;
  });
  after(async () => {
    if (second !== tdb.database) await second.close();
    await tdb.cleanup();
  });

  test('a due job runs once per interval, and its schedule survives a restart', async () => {
    let runs = 0;
    const job = { name: 'count', intervalMs: 60_000, run: async () => ({ n: ++runs }) };
    const a = new Scheduler({ db: tdb.database.db, clock, config });
    a.register(job);
    assert.equal((await a.tick())[0]?.ran, true);
    assert.equal((await a.tick())[0]?.ran, false, 'not due again yet');
    const restarted = new Scheduler({ db: tdb.database.db, clock, config });
    restarted.register(job);
    assert.equal((await restarted.tick())[0]?.ran, false, 'a restart does not make it due');
    clock.advance(60_000);
    assert.equal((await restarted.tick())[0]?.ran, true);
    assert.equal(runs, 2);
    const [status] = await jobStatuses(tdb.database.db, clock.now());
    assert.equal(status?.runs, 2);
    assert.equal(status?.lastStatus, 'succeeded');
    assert.deepEqual(status?.lastSummary, { n: 2 });
  });

  test('a job is due one interval after the tick that started it, not after it finished (no doubled interval)', async () => {
    let runs = 0;
    // A delivery-like job: every 5 s, and each run (with the jobs before it) takes 1.2 s.
    const s = new Scheduler({ db: tdb.database.db, clock, config });
    s.register({
      name: 'fixed-rate',
      intervalMs: 5_000,
      run: async () => {
        runs++;
        clock.advance(1_200);
      },
    });
    assert.equal((await s.tick())[0]?.ran, true);
    clock.advance(5_000 - 1_200 - 150);
    assert.equal((await s.tick())[0]?.ran, false, 'not before its interval');
    clock.advance(150);
    assert.equal((await s.tick())[0]?.ran, true, 'the next tick, one interval later, runs it');
    // A run that overran its interval is due at the following tick, not one more interval later.
    const slow = new Scheduler({ db: tdb.database.db, clock, config });
    slow.register({
      name: 'overrun',
      intervalMs: 1_000,
      run: async () => {
        clock.advance(3_000);
      },
    });
    assert.equal((await slow.tick())[0]?.ran, true);
    assert.equal((await slow.tick())[0]?.ran, true);
    assert.equal(runs, 2);
  });

  test('start() polls as often as the most frequent job is due (5 s at most, 250 ms at least), so short intervals are kept', async () => {
    const mk = (...intervals: number[]) => {
      const s = new Scheduler({ db: tdb.database.db, clock, config });
      intervals.forEach((intervalMs, i) => s.register({ name: `p${i}`, intervalMs, run: async () => undefined }));
      return s;
    };
    assert.equal(mk(3_600_000, 60_000).pollInterval(), 5_000);
    assert.equal(mk(3_600_000, 1_000).pollInterval(), 1_000);
    assert.equal(mk(100).pollInterval(), 250);
    // With real time: a job due every 300 ms runs several times in 1.4 s (with a fixed 5 s poll it ran once).
    let runs = 0;
    const real = new Scheduler({ db: tdb.database.db, clock: systemClock, config });
    real.register({
      name: 'often',
      intervalMs: 300,
      run: async () => {
        runs++;
      },
    });
    real.start();
    await new Promise((r) => setTimeout(r, 1_400));
    await real.stop();
    assert.ok(runs >= 3 && runs <= 6, `ran ${runs} times`);
  });

  test('two processes never run the same job at the same time', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const job = {
      name: 'exclusive',
      intervalMs: 1_000,
      run: async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        runs++;
        await new Promise((r) => setTimeout(r, 30));
        concurrent--;
      },
    };
    const a = new Scheduler({ db: tdb.database.db, clock, config });
    const b = new Scheduler({ db: second.db, clock, config });
    a.register(job);
    b.register(job);
    for (let round = 0; round < 5; round++) {
      const [ra, rb] = await Promise.all([a.tick(), b.tick()]);
      assert.equal([ra[0]?.ran, rb[0]?.ran].filter(Boolean).length, 1, `round ${round}: exactly one process ran it`);
      clock.advance(1_000);
    }
    assert.equal(runs, 5);
    assert.equal(maxConcurrent, 1);
  });

  test('a failing job records its error and is retried at the next interval; a crashed lease expires', async () => {
    let attempt = 0;
    const s = new Scheduler({ db: tdb.database.db, clock, config });
    s.register({
      name: 'flaky',
      intervalMs: 10_000,
      leaseMs: 5_000,
      run: async () => {
        if (++attempt === 1) throw new Error('upstream down');
      },
    });
    const first = await s.runNow('flaky');
    assert.equal(first.status, 'failed');
    assert.equal(first.error, 'upstream down');
    const status = (await jobStatuses(tdb.database.db, clock.now())).find((j) => j.name === 'flaky');
    assert.equal(status?.lastError, 'upstream down');
    // Simulate a process that died holding the lease.
    await tdb.database.db
      .updateTable('job_leases')
      .set({ owner: 'dead', lease_until: new Date(clock.now().getTime() + 5_000).toISOString() })
      .where('name', '=', 'flaky')
      .execute();
    assert.equal((await s.runNow('flaky')).ran, false, 'the lease is respected');
    clock.advance(10_001);
    const retried = await s.tick();
    assert.equal(retried.find((r) => r.name === 'flaky')?.status, 'succeeded');
  });
});
