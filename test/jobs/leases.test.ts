import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ManualClock, systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { jobHealth } from '../../src/jobs/health.js';
import { holderIsGone, newHolderName, parseHolderName } from '../../src/jobs/lease.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { TEST_DIALECT, type TestDatabase, openTestDatabase } from '../helpers/db.js';

/** The holder name a scheduler in another (real) process would write: this host and namespace, that pid and start time. */
function holderNameOf(pid: number): string {
  const mine = newHolderName();
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
  return mine.replace(`:${process.pid}:`, `:${pid}:`).replace(/start=\d+/, `start=${start}`);
}

const exited = (child: ChildProcess) =>
  new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));

describe('leases that follow their holder', () => {
  let tdb: TestDatabase;
  let second: Database;
  const config = loadConfig({});
  before(async () => {
    tdb = await openTestDatabase();
    second = TEST_DIALECT === 'postgres' ? await openDatabase(tdb.url) : tdb.database;
  });
  after(async () => {
    if (second !== tdb.database) await second.close();
    await tdb.cleanup();
  });

  test('a holder name tells this host, pid and start time; a live process is not gone, an exited one is', async () => {
    const mine = newHolderName();
    const parsed = parseHolderName(mine);
    assert.equal(parsed?.pid, process.pid);
    assert.equal(holderIsGone(mine), false, 'this very process is alive');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const live = holderNameOf(sleeper.pid!);
      assert.equal(holderIsGone(live), false, 'a running process on this host is not gone');
      // The same pid with another start time is a different process: the holder is gone (pid reuse).
      assert.equal(holderIsGone(live.replace(/start=\d+/, 'start=1')), true);
    } finally {
      sleeper.kill('SIGKILL');
      await exited(sleeper);
    }
    assert.equal(
      holderIsGone(holderNameOf(process.pid).replace(`:${process.pid}:`, `:${sleeper.pid}:`)),
      true,
      'an exited process is gone',
    );
    // Another host, or a name from before holder names carried facts: nothing can be told, the lease must expire.
    assert.equal(holderIsGone(mine.replace(/^[^:]+/, 'another-host')), false);
    assert.equal(holderIsGone(`${parsed?.host}:${sleeper.pid}:abc`), false);
    assert.equal(holderIsGone('dead'), false);
  });

  test("a restarted process takes over its dead predecessor's lease at once, not when the lease expires", async () => {
    const clock = new ManualClock('2026-03-01T00:00:00Z');
    // A real process that ran and exited: its pid, start time and namespace are those of a real holder.
    const predecessor = spawn('sleep', ['30'], { stdio: 'ignore' });
    const holder = holderNameOf(predecessor.pid!);
    predecessor.kill('SIGKILL');
    await exited(predecessor);
    await tdb.database.db
      .insertInto('job_leases')
      .values({
        name: 'deliver',
        owner: holder,
        lease_until: new Date(clock.now().getTime() + 15_000).toISOString(),
        next_run_at: clock.now().toISOString(),
        last_started_at: clock.now().toISOString(),
        last_finished_at: null,
        last_status: null,
        last_error: null,
        last_summary: null,
        runs: 3,
        heartbeat_at: clock.now().toISOString(),
        interval_ms: 5_000,
        consecutive_failures: 0,
      })
      .execute();
    let runs = 0;
    const restarted = new Scheduler({ db: tdb.database.db, clock, config });
    restarted.register({ name: 'deliver', intervalMs: 5_000, run: async () => void runs++ });
    const [r] = await restarted.tick();
    assert.equal(r?.ran, true, 'the lease of a process that is gone is taken over without waiting');
    assert.equal(runs, 1);

    // A lease held by a live process on this host is respected until it expires.
    const alive = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      clock.advance(5_000);
      await tdb.database.db
        .updateTable('job_leases')
        .set({ owner: holderNameOf(alive.pid!), lease_until: new Date(clock.now().getTime() + 15_000).toISOString() })
        .where('name', '=', 'deliver')
        .execute();
      assert.equal((await restarted.tick())[0]?.ran, false, 'a live holder keeps its lease');
      clock.advance(15_001);
      assert.equal(
        (await restarted.tick())[0]?.ran,
        true,
        'an expired lease is taken over (the holder stopped renewing it)',
      );
    } finally {
      alive.kill('SIGKILL');
      await exited(alive);
    }
  });

  test('the heartbeat keeps a long run leased past its lease length; another process waits, then takes over within one lease of a crash', async () => {
    const a = new Scheduler({ db: tdb.database.db, clock: systemClock, config });
    const b = new Scheduler({ db: second.db, clock: systemClock, config });
    let bRuns = 0;
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => (release = r));
    a.register({ name: 'long', intervalMs: 60_000, leaseMs: 300, run: async () => slow });
    b.register({ name: 'long', intervalMs: 60_000, leaseMs: 300, run: async () => void bRuns++ });
    const running = a.runNow('long');
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await b.runNow('long')).ran, false, 'after three lease lengths the heartbeat still holds it');
    const row = await tdb.database.db
      .selectFrom('job_leases')
      .select(['owner', 'heartbeat_at', 'lease_until'])
      .where('name', '=', 'long')
      .executeTakeFirstOrThrow();
    assert.equal(row.owner, a.owner);
    assert.ok(Date.now() - Date.parse(row.heartbeat_at!) < 400, 'renewed within the last beat');
    release();
    assert.equal((await running).status, 'succeeded');
    assert.equal((await b.runNow('long')).ran, true, 'released at the end of the run');
    assert.equal(bRuns, 1);
  });

  test('a holder that loses its lease is told to stop (its signal aborts) and cannot record the run', async () => {
    const a = new Scheduler({ db: tdb.database.db, clock: systemClock, config });
    let sawAbort = false;
    a.register({
      name: 'stolen',
      intervalMs: 60_000,
      leaseMs: 300,
      run: async (_ctx, run) => {
        // Another process takes the lease over (as after a stall long enough for it to expire).
        await tdb.database.db
          .updateTable('job_leases')
          .set({ owner: 'other-host:1:abcdef', lease_until: new Date(Date.now() + 60_000).toISOString() })
          .where('name', '=', 'stolen')
          .execute();
        await new Promise<void>((resolve) => run?.signal.addEventListener('abort', () => resolve(), { once: true }));
        sawAbort = run?.signal.aborted ?? false;
      },
    });
    await a.runNow('stolen');
    assert.equal(sawAbort, true);
    const row = await tdb.database.db
      .selectFrom('job_leases')
      .select(['owner', 'runs'])
      .where('name', '=', 'stolen')
      .executeTakeFirstOrThrow();
    assert.equal(row.owner, 'other-host:1:abcdef', 'the new holder keeps the lease');
    assert.equal(Number(row.runs), 0, 'the old holder did not record its run over the new one');
  });

  test('a graceful stop aborts running jobs and releases their leases, so the next process starts at once', async () => {
    const a = new Scheduler({ db: tdb.database.db, clock: systemClock, config });
    let started = false;
    let stopped = false;
    a.register({
      name: 'graceful',
      intervalMs: 60_000,
      run: async (_ctx, run) => {
        started = true;
        await new Promise<void>((resolve) => run?.signal.addEventListener('abort', () => resolve(), { once: true }));
        stopped = true;
      },
    });
    a.start(50);
    const until = Date.now() + 5_000;
    while (!started && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(a.runningJobs().includes('graceful'), true);
    await a.stop();
    assert.equal(stopped, true);
    const row = await tdb.database.db
      .selectFrom('job_leases')
      .select(['owner', 'lease_until'])
      .where('name', '=', 'graceful')
      .executeTakeFirstOrThrow();
    assert.equal(row.owner, null);
    assert.equal(row.lease_until, null);
    const next = new Scheduler({ db: second.db, clock: systemClock, config });
    next.register({ name: 'graceful', intervalMs: 60_000, run: async () => undefined });
    assert.equal((await next.runNow('graceful')).ran, true);
  });

  test('jobs run side by side: a slow job does not hold up a frequent one', async () => {
    const s = new Scheduler({ db: tdb.database.db, clock: systemClock, config });
    let frequentRuns = 0;
    let release: () => void = () => undefined;
    s.register({ name: 'slow-purge', intervalMs: 60_000, run: () => new Promise<void>((r) => (release = r)) });
    s.register({ name: 'frequent', intervalMs: 250, run: async () => void frequentRuns++ });
    s.start(100);
    await new Promise((r) => setTimeout(r, 1_200));
    assert.ok(frequentRuns >= 3, `the frequent job ran ${frequentRuns} times while the slow one ran`);
    release();
    await s.stop();
  });

  test('a database that cannot be reached never crashes the scheduler; the failure is visible in job health', async () => {
    const broken = await openTestDatabase();
    const s = new Scheduler({ db: broken.database.db, clock: systemClock, config });
    let runs = 0;
    s.register({ name: 'x', intervalMs: 250, run: async () => void runs++ });
    await broken.database.close();
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      s.start(50);
      await new Promise((r) => setTimeout(r, 400));
      await s.stop(500);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await broken.cleanup().catch(() => undefined);
    }
    assert.deepEqual(unhandled, []);
    assert.equal(runs, 0);

    // A job whose runs keep failing is reported as stalled (failing), with its last error.
    const clock = new ManualClock('2026-04-01T00:00:00Z');
    const f = new Scheduler({ db: tdb.database.db, clock, config });
    f.register({
      name: 'always-fails',
      intervalMs: 1_000,
      run: async () => {
        throw new Error('the key provider is unavailable');
      },
    });
    for (let i = 0; i < 3; i++) {
      await f.tick();
      clock.advance(1_000);
    }
    const health = (await jobHealth(tdb.database.db, clock.now())).find((j) => j.name === 'always-fails');
    assert.equal(health?.consecutiveFailures, 3);
    assert.equal(health?.stalled?.code, 'failing');
    assert.match(health?.stalled?.reason ?? '', /last 3 runs failed.*the key provider is unavailable/);
    // Not started for long after it was due (no process runs the scheduler): overdue.
    clock.advance(10 * 60_000);
    const overdue = (await jobHealth(tdb.database.db, clock.now())).find((j) => j.name === 'always-fails');
    assert.equal(overdue?.stalled?.code, 'overdue');
  });
});
