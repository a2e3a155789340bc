import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { recordAuditBatch } from '../../src/audit/record.js';
import { sqliteHandleOf } from '../../src/db/connect.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { testAction } from '../helpers/audit-actions.js';

describe('audit.db_optimize job', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('gives the planner statistics for both audit tables, and a second run with nothing grown changes nothing', async () => {
    const { orgId } = await t.seedOrg('Optimize', 'owner@optimize.example');
    const db = t.db.database.db;
    await db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        t.system,
        Array.from({ length: 300 }, (_, i) => ({
          orgId,
          action: testAction('test.optimized'),
          targets: [{ type: 'user', id: `usr_${i % 30}` }],
        })),
      ),
    );
    await t.sealAudit();
    const scheduler = createScheduler({ db, clock: t.clock, config: t.config });
    const handle = sqliteHandleOf(db);
    const analyzed = async (): Promise<Record<string, number>> => {
      if (handle) {
        const rows = handle
          .prepare(
            "select tbl, stat from sqlite_stat1 where tbl in ('audit_events', 'audit_event_targets') and idx is not null",
          )
          .all() as { tbl: string; stat: string }[];
        return Object.fromEntries(rows.map((r) => [r.tbl, Number(r.stat.split(' ')[0])]));
      }
      // reltuples is -1 until a table is first analyzed (PostgreSQL 14 and later).
      const { rows } = await sql<{
        relname: string;
        reltuples: number;
      }>`select c.relname, c.reltuples from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and c.relname in ('audit_events', 'audit_event_targets')`.execute(db);
      return Object.fromEntries(
        rows.filter((r) => Number(r.reltuples) >= 0).map((r) => [r.relname, Number(r.reltuples)]),
      );
    };
    const run = await scheduler.runNow('audit.db_optimize');
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    const stats = await analyzed();
    assert.ok((stats.audit_events ?? 0) >= 300, `audit_events analyzed: ${JSON.stringify(stats)}`);
    assert.ok((stats.audit_event_targets ?? 0) >= 300, `audit_event_targets analyzed: ${JSON.stringify(stats)}`);
    if (handle) {
      // PRAGMA optimize re-analyzes only a table that grew about tenfold: one more event is not that.
      await db
        .transaction()
        .execute((tx) => recordAuditBatch(tx, t.system, [{ orgId, action: testAction('test.optimized') }]));
      await t.sealAudit();
      t.clock.advance(2 * 3_600_000);
      await scheduler.runNow('audit.db_optimize');
      assert.deepEqual(await analyzed(), stats);
    }
  });
});
