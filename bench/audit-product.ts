/**
 * Audit search and export at scale, on SQLite (and PostgreSQL when BENCH_DIALECTS includes it).
 * Events are written through the real path (recordAuditBatch: hash chain and all), spread over 90
 * days, 200 actors, 24 actions in 6 domains, 3 outcomes and 20 IPs.
 *   BENCH_SEARCH_EVENTS (default 1,000,000): table size; the closing figures use 10,000,000.
 *   BENCH_SEARCH_REAL (optional, < N): write only this many through the real path, then fill the
 *   table to N with SQL copies of them (new ids and seqs, same times, actors and targets: the hash
 *   chain of the copies is not valid, which search does not read). Generating 10M through the real
 *   path on PostgreSQL takes most of an hour on 2 cores; the copies keep each filter's selectivity.
 *   BENCH_SEARCH_DB (SQLite) / BENCH_SEARCH_PG_SCHEMA (PostgreSQL): a file or schema to keep the
 *   generated events in and reuse on the next run (drop the schema by hand when done).
 * Prints p50/p95 per common filter (searchAuditEvents, first page of 50), then exports up to
 * 1,000,000 events as CSV and NDJSON through the streamed exporter, each in a process of its own
 * (bench/audit-export-child.ts): events/s beside a bare reader + CSV writer, and peak RSS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type AuditEventInput, recordAuditBatch } from '../src/audit/record.js';
import { searchAuditEvents } from '../src/audit/search.js';
import { ManualClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { type Ctx, systemCtx } from '../src/context.js';
import { type Database, dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { runDbOptimize } from '../src/audit/jobs.js';
import { sql } from 'kysely';
import { testAction } from '../test/helpers/audit-actions.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.env.BENCH_SEARCH_EVENTS ?? 1_000_000);
const EXPORT_N = Math.min(N, Number(process.env.BENCH_EXPORT_EVENTS ?? 1_000_000));
const RUNS = Number(process.env.BENCH_SEARCH_RUNS ?? 40);
const ORG = 'org_bench_search';
const DAYS = 90;
const ACTIONS = [
  'auth.login_succeeded',
  'auth.login_failed',
  'auth.logout',
  'auth.password_set',
  'member.invited',
  'member.joined',
  'member.role_changed',
  'member.removed',
  'org.updated',
  'org.created',
  'sso.connection_updated',
  'sso.login',
  'sso.assertion_rejected',
  'scim.user_provisioned',
  'scim.user_deprovisioned',
  'scim.group_updated',
  'gateway.request',
  'gateway.blocked',
  'gateway.key_created',
  'gateway.key_revoked',
  'audit.exported',
  'audit.retention_changed',
  'stream.created',
  'stream.recovered',
];
const user = (i: number) => `usr_${String(i).padStart(26, '0')}`;

let rnd = 42;
const rand = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;

async function generate(database: Database, n: number): Promise<void> {
  const start = Date.parse('2026-01-01T00:00:00Z');
  const clock = new ManualClock(new Date(start));
  const step = (DAYS * 86_400_000) / n;
  const BATCH = 2000;
  const t0 = Date.now();
  for (let i = 0; i < n; i += BATCH) {
    clock.set(new Date(start + i * step));
    const a = Math.floor(rand() * 200);
    const ctx: Ctx = {
      ...systemCtx({ db: database.db, clock, config: loadConfig({}) }, 'bench'),
      caller: { kind: 'user', userId: user(a), email: `u${a}@bench.example`, via: 'session', credentialId: 'ses_b' },
      meta: { requestId: `req_${i}`, ip: `198.51.100.${a % 20}`, userAgent: 'bench' },
    };
    const inputs: AuditEventInput[] = Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => ({
      orgId: ORG,
      action: testAction(pick(ACTIONS)),
      outcome: rand() < 0.9 ? 'success' : rand() < 0.5 ? 'failure' : 'denied',
      targets: [{ type: 'user', id: user(Math.floor(rand() * 5000)), name: `t${k}@bench.example` }],
      metadata: { i: i + k },
    }));
    await database.db.transaction().execute((tx) => recordAuditBatch(tx, ctx, inputs));
    if (i && i % 200_000 === 0)
      process.stdout.write(
        `  … ${i.toLocaleString()} events written (${Math.round(i / ((Date.now() - t0) / 1000)).toLocaleString()}/s)\n`,
      );
  }
  console.log(
    `  generated ${n.toLocaleString()} events through the real write path in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}

/** Fills the table to N events with SQL copies of the first `real` (see BENCH_SEARCH_REAL). */
async function fillWithCopies(database: Database, real: number): Promise<void> {
  const t0 = Date.now();
  for (let k = 1; k * real < N; k++) {
    const off = k * real;
    const upTo = Math.min(real, N - off);
    await sql`insert into audit_events (id, org_id, seq, occurred_at, actor_type, actor_id, actor_email, actor_ip, actor_user_agent, action, targets, outcome, metadata, request_id, prev_hash, hash)
      select id || ${`_c${k}`}, org_id, seq + ${off}, occurred_at, actor_type, actor_id, actor_email, actor_ip, actor_user_agent, action, targets, outcome, metadata, request_id, prev_hash, hash
      from audit_events where org_id = ${ORG} and seq <= ${upTo}`.execute(database.db);
    await sql`insert into audit_event_targets (org_id, target_id, occurred_at, event_id)
      select t.org_id, t.target_id, t.occurred_at, t.event_id || ${`_c${k}`} from audit_event_targets t join audit_events e on e.id = t.event_id
      where t.org_id = ${ORG} and e.org_id = ${ORG} and e.seq <= ${upTo}`.execute(database.db);
    process.stdout.write(`  … ${(off + upTo).toLocaleString()} events (SQL copies)\n`);
  }
  await database.db.updateTable('audit_chain_heads').set({ seq: N }).where('org_id', '=', ORG).execute();
  console.log(
    `  filled to ${N.toLocaleString()} events with SQL copies in ${((Date.now() - t0) / 1000).toFixed(0)} s (the copies' hash chain is not valid; search does not read it)`,
  );
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

async function searches(database: Database): Promise<void> {
  const ctx = systemCtx({ db: database.db, clock: new ManualClock(), config: loadConfig({}) }, 'bench');
  const day = (d: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + d * 86_400_000).toISOString();
  const cases: [string, () => Record<string, string>][] = [
    ['newest page, no filter', () => ({})],
    [
      'time range (1 day)',
      () => {
        const d = Math.floor(rand() * (DAYS - 1));
        return { from: day(d), to: day(d + 1) };
      },
    ],
    ['action exact', () => ({ action: pick(ACTIONS) })],
    ['action prefix (sso.*)', () => ({ action: pick(['sso.*', 'member.*', 'auth.*']) })],
    ['actor id', () => ({ actor: user(Math.floor(rand() * 200)) })],
    ['actor email', () => ({ actor: `u${Math.floor(rand() * 200)}@bench.example` })],
    ['outcome=denied', () => ({ outcome: 'denied' })],
    ['actor IP', () => ({ ip: `198.51.100.${Math.floor(rand() * 20)}` })],
    ['target id', () => ({ target: user(Math.floor(rand() * 5000)) })],
    [
      'actor + action + 7 days',
      () => {
        const d = Math.floor(rand() * (DAYS - 7));
        return { actor: user(Math.floor(rand() * 200)), action: 'member.*', from: day(d), to: day(d + 7) };
      },
    ],
  ];
  console.log(`  search (first page of 50, ${RUNS} runs each)          p50 ms    p95 ms`);
  for (const [name, q] of cases) {
    const times: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const query = q();
      const t0 = process.hrtime.bigint();
      await searchAuditEvents(ctx, ORG, query as never);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    console.log(
      `    ${name.padEnd(46)} ${pct(times, 50).toFixed(1).padStart(8)}  ${pct(times, 95).toFixed(1).padStart(8)}`,
    );
  }
}

async function exportRun(database: Database, url: string): Promise<void> {
  const head = await database.db
    .selectFrom('audit_chain_heads')
    .select('seq')
    .where('org_id', '=', ORG)
    .executeTakeFirstOrThrow();
  const upToSeq = Math.min(Number(head.seq), EXPORT_N);
  // Each export runs in a process of its own (bench/audit-export-child.ts), so its peak RSS is the
  // export's alone. The reference is a bare reader + CSV writer of the same rows in the same pages.
  const child = (mode: 'bare' | 'csv' | 'ndjson') => {
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(dirname(fileURLToPath(import.meta.url)), 'audit-export-child.ts'),
        url,
        ORG,
        String(upToSeq),
        mode,
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    return JSON.parse(out.trim().split('\n').pop()!) as {
      events: number;
      seconds: number;
      bytes: number;
      restMb: number;
      maxRssMb: number;
    };
  };
  const bare = child('bare');
  const bareRate = bare.events / bare.seconds;
  console.log(
    `  bare reader + CSV writer of the same rows: ${bare.events.toLocaleString()} rows in ${bare.seconds.toFixed(1)} s = ${Math.round(bareRate).toLocaleString()} rows/s; peak RSS ${bare.maxRssMb.toFixed(0)} MB`,
  );
  for (const format of ['csv', 'ndjson'] as const) {
    const r = child(format);
    const rate = r.events / r.seconds;
    console.log(
      `  export ${format.toUpperCase()}: ${r.events.toLocaleString()} events, ${(r.bytes / 1e6).toFixed(0)} MB in ${r.seconds.toFixed(1)} s = ${Math.round(rate).toLocaleString()} events/s (${(rate / bareRate).toFixed(2)}× the bare writer; goal ≥ 200,000/s); peak RSS of the exporting process ${r.maxRssMb.toFixed(0)} MB, ${r.restMb.toFixed(0)} MB of it before the export began (goal < 200 MB)`,
    );
  }
}

/** A DATABASE_URL another process can open on the same schema. */
const pgUrlFor = (schema: string) => `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;

async function runDialect(name: 'sqlite' | 'postgres'): Promise<void> {
  let database: Database;
  let cleanup: () => Promise<void>;
  let url: string;
  const keep = name === 'sqlite' ? process.env.BENCH_SEARCH_DB : process.env.BENCH_SEARCH_PG_SCHEMA;
  if (keep && name === 'postgres') {
    database = await openDatabase(PG_URL, { pgSchema: keep });
    url = pgUrlFor(keep);
    cleanup = async () => {};
  } else if (keep) {
    database = await openDatabase(`sqlite:${keep}`);
    url = `sqlite:${keep}`;
    cleanup = async () => {};
  } else if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-search-'));
    url = `sqlite:${join(dir, 'bench.db')}`;
    database = await openDatabase(url);
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = `bench_s_${Date.now().toString(36)}`;
    database = await openDatabase(PG_URL, { pgSchema: schema });
    url = pgUrlFor(schema);
    cleanup = () => dropPostgresSchema(PG_URL, schema);
  }
  await migrateToLatest(database);
  const at = new Date().toISOString();
  await database.db
    .insertInto('organizations')
    .values({
      id: ORG,
      parent_id: null,
      name: 'Bench',
      billing_email: null,
      status: 'active',
      created_at: at,
      updated_at: at,
      deleted_at: null,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  console.log(`\naudit search and export on ${name} (${N.toLocaleString()} events)`);
  try {
    const have = await database.db
      .selectFrom('audit_chain_heads')
      .select('seq')
      .where('org_id', '=', ORG)
      .executeTakeFirst();
    if (have && Number(have.seq) === N) console.log(`  reusing ${N.toLocaleString()} events already in ${keep}`);
    else if (have)
      throw new Error(`${keep} holds ${have.seq} events, not ${N}; remove it or set BENCH_SEARCH_EVENTS=${have.seq}`);
    else {
      const real = Math.min(N, Number(process.env.BENCH_SEARCH_REAL ?? N));
      await generate(database, real);
      if (real < N) await fillWithCopies(database, real);
    }
    // A new table has no planner statistics until the audit.db_optimize job analyzes it; a reused
    // file or schema keeps those of the run that generated it.
    console.log(
      have
        ? '  with the statistics the reused data holds:'
        : '  before the first audit.db_optimize run (no planner statistics yet):',
    );
    await searches(database);
    const t0 = Date.now();
    await runDbOptimize(database.db);
    console.log(
      `  after the audit.db_optimize job (${database.dialect === 'sqlite' ? 'PRAGMA optimize' : 'ANALYZE'}: ${((Date.now() - t0) / 1000).toFixed(1)} s):`,
    );
    await searches(database);
    await exportRun(database, url);
  } finally {
    await database.close();
    await cleanup();
  }
}

export async function benchAuditProduct(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  for (const d of dialects) await runDialect(d);
}
