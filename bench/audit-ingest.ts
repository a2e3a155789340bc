/**
 * Audit ingest: events appended per second through Palisade's real write path (recordAudit /
 * recordAuditBatch: hash chain, head lock, canonical JSON), next to bare batched inserts of the
 * same rows into the same table in the same run, the raw limit of the engine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { recordAudit, recordAuditBatch, type AuditEventInput } from '../src/audit/record.js';
import { verifyChain } from '../src/audit/verify.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import type { Ctx } from '../src/context.js';
import { type Database, dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { NewAuditEventRow } from '../src/db/schema.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.env.BENCH_EVENTS ?? 50_000);
const SINGLE_N = Math.min(N, Number(process.env.BENCH_SINGLE_EVENTS ?? 5_000));
const BATCH = 1000;

const input = (i: number): AuditEventInput => ({
  orgId: 'org_bench',
  action: 'member.role_changed',
  targets: [{ type: 'user', id: `usr_${String(i).padStart(26, '0')}`, name: `user${i}@bench.example` }],
  metadata: { from: 'member', to: 'admin', i },
});

function ctxFor(database: Database): Ctx {
  return {
    db: database.db,
    clock: systemClock,
    config: loadConfig({}),
    caller: {
      kind: 'user',
      userId: 'usr_bench',
      email: 'admin@bench.example',
      via: 'session',
      credentialId: 'ses_bench',
    },
    meta: { requestId: 'req_bench', ip: '127.0.0.1', userAgent: 'bench' },
  };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Rows exactly as the real path writes them, copied out of the table after a real run. */
async function sampleRows(database: Database, orgId: string): Promise<NewAuditEventRow[]> {
  return database.db.selectFrom('audit_events').selectAll().where('org_id', '=', orgId).orderBy('seq').execute();
}

async function runDialect(name: 'sqlite' | 'postgres'): Promise<void> {
  let database: Database;
  let cleanup: () => Promise<void>;
  let sqlitePath = '';
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
    sqlitePath = join(dir, 'bench.db');
    database = await openDatabase(`sqlite:${sqlitePath}`);
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = `bench_${Date.now().toString(36)}`;
    database = await openDatabase(PG_URL, { pgSchema: schema });
    cleanup = () => dropPostgresSchema(PG_URL, schema);
  }
  await migrateToLatest(database);
  const ctx = ctxFor(database);

  // 1. One event per transaction, as a single state change writes it.
  const single = await timed(async () => {
    for (let i = 0; i < SINGLE_N; i++) await database.db.transaction().execute((tx) => recordAudit(tx, ctx, input(i)));
  });
  // 2. Batched through the real path: BATCH events per transaction (imports, SCIM syncs, gateway bursts).
  const batchCtx = { ...ctx };
  const batched = await timed(async () => {
    for (let i = 0; i < N; i += BATCH) {
      const inputs = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => ({
        ...input(i + k),
        orgId: 'org_bench_batch',
      }));
      await database.db.transaction().execute((tx) => recordAuditBatch(tx, batchCtx, inputs));
    }
  });
  const verified = await verifyChain(database.db, 'org_bench_batch');
  if (!verified.ok || verified.eventsChecked !== N)
    throw new Error(`bench chain does not verify: ${JSON.stringify(verified)}`);

  // 3. The raw limit: the same rows, bare batched inserts with the driver, no hashing or locking.
  const rows = (await sampleRows(database, 'org_bench_batch')).map((r) => ({
    ...r,
    org_id: 'org_raw',
    id: `raw${r.id}`,
  }));
  // …and the target-index rows the real path wrote with them, inserted in the same transactions.
  const targetsById = new Map<string, string[]>();
  for (const t of await database.db
    .selectFrom('audit_event_targets')
    .select(['event_id', 'target_id'])
    .where('org_id', '=', 'org_bench_batch')
    .execute()) {
    targetsById.set(`raw${t.event_id}`, [...(targetsById.get(`raw${t.event_id}`) ?? []), t.target_id]);
  }
  const cols = Object.keys(rows[0]!) as (keyof NewAuditEventRow)[];
  let raw: number;
  if (name === 'sqlite') {
    await database.close();
    const handle = new SQLite(sqlitePath);
    handle.pragma('journal_mode = WAL');
    handle.pragma('synchronous = NORMAL');
    const stmt = handle.prepare(
      `insert into audit_events (${cols.join(',')}) values (${cols.map(() => '?').join(',')})`,
    );
    const targetStmt = handle.prepare(
      'insert into audit_event_targets (org_id, target_id, occurred_at, event_id) values (?, ?, ?, ?)',
    );
    const insertMany = handle.transaction((batch: NewAuditEventRow[]) => {
      for (const r of batch) stmt.run(...cols.map((c) => r[c] as string | number | null));
      for (const r of batch)
        for (const id of targetsById.get(r.id) ?? []) targetStmt.run(r.org_id, id, r.occurred_at, r.id);
    });
    raw = await timed(async () => {
      for (let i = 0; i < rows.length; i += BATCH) insertMany(rows.slice(i, i + BATCH));
    });
    handle.close();
  } else {
    await database.close();
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`set search_path to ${database.schema}`);
    const per = 500;
    raw = await timed(async () => {
      for (let i = 0; i < rows.length; i += BATCH) {
        await client.query('begin');
        for (let j = i; j < Math.min(i + BATCH, rows.length); j += per) {
          const chunk = rows.slice(j, Math.min(j + per, i + BATCH));
          const params: unknown[] = [];
          const tuples = chunk.map((r) => `(${cols.map((c) => (params.push(r[c]), `$${params.length}`)).join(',')})`);
          await client.query(`insert into audit_events (${cols.join(',')}) values ${tuples.join(',')}`, params);
          const tp: unknown[] = [];
          const tt = chunk.flatMap((r) =>
            (targetsById.get(r.id) ?? []).map(
              (id) => (
                tp.push(r.org_id, id, r.occurred_at, r.id),
                `($${tp.length - 3},$${tp.length - 2},$${tp.length - 1},$${tp.length})`
              ),
            ),
          );
          if (tt.length)
            await client.query(
              `insert into audit_event_targets (org_id, target_id, occurred_at, event_id) values ${tt.join(',')}`,
              tp,
            );
        }
        await client.query('commit');
      }
    });
    await client.end();
  }
  await cleanup();

  const rate = (n: number, s: number) => Math.round(n / s);
  const rawRate = rate(rows.length, raw);
  console.log(`\naudit ingest on ${name} (${N.toLocaleString()} events batched, ${SINGLE_N.toLocaleString()} single)`);
  console.log(
    `  real path, one event per transaction : ${rate(SINGLE_N, single).toLocaleString().padStart(9)} events/s`,
  );
  console.log(
    `  real path, ${BATCH} per transaction      : ${rate(N, batched).toLocaleString().padStart(9)} events/s  (${((rate(N, batched) / rawRate) * 100).toFixed(0)}% of raw)`,
  );
  console.log(
    `  bare batched inserts (raw limit)     : ${rawRate.toLocaleString().padStart(9)} events/s  (the same event rows and target-index rows)`,
  );
}

export async function benchAuditIngest(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  for (const d of dialects) await runDialect(d);
}
