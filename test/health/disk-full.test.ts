import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyChain } from '../../src/audit/verify.js';
import { openDatabase, sqliteHandleOf } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { type Agent, type Reply, type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * The embedded database on a real, deliberately small tmpfs mounted by the test (it runs as root,
 * as CI does): the disk fills up under a write load, then space comes back. PostgreSQL's disk-full
 * case (a tablespace on a full tmpfs) is in test/db/postgres-faults.test.ts.
 */
const canMount = process.getuid?.() === 0;

describe(
  'disk full under the embedded database (a real tmpfs)',
  {
    skip:
      TEST_DIALECT !== 'sqlite'
        ? 'SQLite only; PostgreSQL: test/db/postgres-faults.test.ts'
        : !canMount
          ? 'needs root to mount a tmpfs'
          : false,
  },
  () => {
    let mnt: string;
    let dbFile: string;
    let t: TestApp;
    let owner: Agent;
    let orgId: string;
    const filler = () => join(mnt, 'filler');

    before(async () => {
      mnt = mkdtempSync(join(tmpdir(), 'palisade-full-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mnt]);
      dbFile = join(mnt, 'palisade.db');
      const url = `sqlite:${dbFile}`;
      const database = await openDatabase(url);
      await migrateToLatest(database);
      t = await createTestApp(
        { auditStreamsAllowHttp: true },
        { database: { database, url, cleanup: () => database.close() } },
      );
      ({ orgId, owner } = await t.seedOrg('Full', 'owner@full.example'));
    });
    after(async () => {
      await t?.close().catch(() => undefined);
      if (mnt) {
        execFileSync('umount', [mnt]);
        rmdirSync(mnt);
      }
    });

    /** Fills the file system: a file grown until the kernel answers ENOSPC. */
    function fillDisk(): number {
      const fd = openSync(filler(), 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      let written = 0;
      try {
        for (;;) written += writeSync(fd, chunk);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        closeSync(fd);
      }
      return written;
    }

    let n = 0;
    const createStream = () =>
      owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
        name: `dest ${++n}`,
        kind: 'webhook',
        url: `http://127.0.0.1:9/hook-${n}`,
      });

    test('writes answer 503 storage_unavailable naming the cause, reads keep working, and writes resume by themselves; nothing acknowledged is lost', async () => {
      const acknowledged: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await createStream();
        assert.equal(r.status, 201, JSON.stringify(r.body));
        acknowledged.push(r.body.stream.id);
      }
      fillDisk();
      // The write load goes on: writes may still land in space SQLite already holds (its WAL); then the disk refuses.
      let refused: Reply | undefined;
      for (let i = 0; i < 5_000 && !refused; i++) {
        const r = await createStream();
        if (r.status === 201) acknowledged.push(r.body.stream.id);
        else refused = r;
      }
      assert.ok(refused, 'the full disk refused a write');
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'storage_unavailable');
      assert.match(
        refused.body.error.message,
        /cannot write to its database right now: the disk holding the database is full.*Nothing was changed by this request.*SQLITE_FULL/,
      );
      assert.equal(refused.body.error.details.cause, 'disk_full');
      assert.equal(refused.headers['retry-after'], '30');
      // Space SQLite already holds (pages its WAL reuses after a checkpoint) may still take a write
      // smaller than the refused one — the readiness probe's one row would land, and health would
      // rightly say "writable". Use that slack up too, so that no write of any size fits.
      const raw = sqliteHandleOf(t.db.database.db)!;
      const slack = raw.prepare('insert into storage_probes (node, written_at) values (?, ?)');
      let slackRefused = false;
      for (let i = 0; i < 100_000 && !slackRefused; i++) {
        try {
          slack.run(`filler-${i}-${'x'.repeat(200)}`, new Date().toISOString());
        } catch (err) {
          assert.match((err as Error).message, /full/i);
          slackRefused = true;
        }
      }
      assert.ok(slackRefused, 'the WAL slack filled up');

      // Refused: nothing changed (no row, no audit event for the refused destination).
      const refusedName = `dest ${n}`;
      const before = await t.db.database.db
        .selectFrom('audit_streams')
        .select('id')
        .where('name', '=', refusedName)
        .execute();
      assert.deepEqual(before, []);
      const refusedAgain = await createStream();
      assert.equal(refusedAgain.status, 503);

      // Reads keep working: lists, one destination, the audit log, the owner's session.
      const list = await owner.get(`/api/v1/orgs/${orgId}/audit-streams`);
      assert.equal(list.status, 200);
      assert.equal(list.body.data.length, acknowledged.length);
      assert.equal((await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=stream.created`)).status, 200);
      assert.equal((await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${acknowledged[0]}`)).status, 200);

      // Health says so, with the cause.
      const ready = await t.anonymous().get('/readyz');
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, 'degraded');
      assert.equal(ready.body.checks.storage.writable, false);
      assert.equal(ready.body.checks.storage.cause, 'disk_full');
      assert.match((await t.app.inject({ method: 'GET', url: '/metrics' })).body, /palisade_storage_writable 0/);

      // Space comes back: writes resume without a restart.
      rmSync(filler());
      const resumed = await createStream();
      assert.equal(resumed.status, 201, JSON.stringify(resumed.body));
      acknowledged.push(resumed.body.stream.id);
      await new Promise((r) => setTimeout(r, 1_100));
      const readyAgain = await t.anonymous().get('/readyz');
      assert.equal(readyAgain.body.checks.storage.writable, true, JSON.stringify(readyAgain.body));
      assert.equal(readyAgain.body.status, 'ready');

      // Nothing acknowledged was lost: each destination and its audit event, the chain intact —
      // read again from the file by a fresh connection.
      const reopened = await openDatabase(`sqlite:${dbFile}`);
      try {
        const rows = await reopened.db.selectFrom('audit_streams').select('id').execute();
        assert.deepEqual(new Set(rows.map((r) => r.id)), new Set(acknowledged));
        const created = await reopened.db
          .selectFrom('audit_events')
          .select('targets')
          .where('org_id', '=', orgId)
          .where('action', '=', 'stream.created')
          .execute();
        const audited = new Set(created.map((e) => (JSON.parse(e.targets) as { id: string }[])[0]?.id));
        for (const id of acknowledged) assert.ok(audited.has(id), `${id} has its audit event`);
        assert.equal(created.length, acknowledged.length, 'no audit event without its change');
        assert.equal((await verifyChain(reopened.db, orgId)).ok, true);
      } finally {
        await reopened.close();
      }
    });

    test('a read-only database (SQLITE_READONLY) answers 503 storage_unavailable with cause read_only; reads work', async () => {
      const handle = sqliteHandleOf(t.db.database.db)!;
      handle.pragma('query_only = 1');
      try {
        const r = await createStream();
        assert.equal(r.status, 503);
        assert.equal(r.body.error.code, 'storage_unavailable');
        assert.equal(r.body.error.details.cause, 'read_only');
        assert.match(r.body.error.message, /read-only.*writes resume by themselves/);
        assert.equal((await owner.get(`/api/v1/orgs/${orgId}/audit-streams`)).status, 200);
      } finally {
        handle.pragma('query_only = 0');
      }
      assert.equal((await createStream()).status, 201);
    });
  },
);
