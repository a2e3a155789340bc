/**
 * Compliance API at scale (issue 16's figures), on SQLite and PostgreSQL (BENCH_DIALECTS).
 *
 * 1. The activity feed: BENCH_FEED_EVENTS (default 1,000,000) audit events written through the real
 *    path (recordAuditBatch: hash chain and all) into a tree of a top-level organization and three
 *    business units, then paged through over HTTP (app.inject: key lookup, rate limit, scope check,
 *    one compliance_key.used audit event per request, the query, serialization) with limit=1000 and
 *    after_id, newest to oldest. Prints activities/s beside the raw limit: the same rows read with
 *    the same query shape straight from the database, without HTTP or JSON. Target ≥ 100,000/s on SQLite.
 * 2. Usage: BENCH_USAGE_REQUESTS (default 1,000,000) gateway requests recorded through the gateway's
 *    own write path (recordUsage: the daily and hourly rollups) from 200 people, 4 models, 30 days;
 *    then the whole report over HTTP: per day as JSON (every page) and CSV, per hour as CSV. Target < 1 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { type AuditEventInput, recordAuditBatch } from '../src/audit/record.js';
import { displayPrefix, generateSecret, hashSecret } from '../src/auth/secrets.js';
import { ManualClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { type Ctx, systemCtx } from '../src/context.js';
import { type Database, dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { recordUsage } from '../src/gateway/usage.js';
import { ALL_SCOPES } from '../src/compliance/scopes.js';
import { randomBytes } from 'node:crypto';
import { testAction } from '../test/helpers/audit-actions.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS = Number(process.env.BENCH_FEED_EVENTS ?? 1_000_000);
const REQUESTS = Number(process.env.BENCH_USAGE_REQUESTS ?? 1_000_000);
const ROOT = 'org_bench_root';
const UNITS = ['org_bench_unit_a', 'org_bench_unit_b', 'org_bench_unit_c'];
const ORGS = [ROOT, ...UNITS];
const START = Date.parse('2026-01-01T00:00:00Z');
const ACTIONS = [
  'auth.login_succeeded',
  'member.invited',
  'member.role_changed',
  'conversation.message_sent',
  'gateway.request',
  'file.uploaded',
  'sso.connection_updated',
  'scim.user_provisioned',
];

let rnd = 7;
const rand = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

async function open(dialect: 'sqlite' | 'postgres'): Promise<{ database: Database; cleanup: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-compliance-'));
    const database = await openDatabase(`sqlite:${join(dir, 'bench.db')}`);
    return { database, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `bench_c_${Date.now().toString(36)}`;
  const database = await openDatabase(PG_URL, { pgSchema: schema });
  return { database, cleanup: () => dropPostgresSchema(PG_URL, schema) };
}

async function seedTree(database: Database): Promise<string> {
  const at = new Date(START).toISOString();
  for (const id of ORGS)
    await database.db
      .insertInto('organizations')
      .values({
        id,
        parent_id: id === ROOT ? null : ROOT,
        name: id,
        billing_email: null,
        status: 'active',
        created_at: at,
        updated_at: at,
        deleted_at: null,
      })
      .execute();
  const secret = generateSecret('cmp');
  await database.db
    .insertInto('compliance_keys')
    .values({
      id: 'cmp_bench',
      org_id: ROOT,
      name: 'bench',
      token_hash: hashSecret(secret),
      display_prefix: displayPrefix(secret),
      scopes: JSON.stringify(ALL_SCOPES),
      org_ids: null,
      rate_limit_per_minute: 1_000_000,
      created_by: null,
      created_at: at,
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
      revoked_by: null,
    })
    .execute();
  return secret;
}

async function writeEvents(database: Database, n: number): Promise<void> {
  const clock = new ManualClock(new Date(START));
  const step = (60 * 86_400_000) / n;
  const BATCH = 2000;
  const t0 = Date.now();
  for (let i = 0; i < n; i += BATCH) {
    clock.set(new Date(START + i * step));
    const a = Math.floor(rand() * 500);
    const ctx: Ctx = {
      ...systemCtx({ db: database.db, clock, config: loadConfig({}) }, 'bench'),
      caller: {
        kind: 'user',
        userId: `usr_${String(a).padStart(26, '0')}`,
        email: `u${a}@bench.example`,
        via: 'session',
        credentialId: 'ses_b',
      },
      meta: { requestId: `req_${i}`, ip: `198.51.100.${a % 50}`, userAgent: 'bench' },
    };
    const inputs: AuditEventInput[] = Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => ({
      orgId: ORGS[Math.floor(rand() * ORGS.length)] as string,
      action: testAction(ACTIONS[Math.floor(rand() * ACTIONS.length)] as string),
      targets: [
        { type: 'user', id: `usr_${String(Math.floor(rand() * 5000)).padStart(26, '0')}`, name: `t${k}@bench.example` },
      ],
      metadata: { i: i + k, model: 'claude-sonnet-4-5', inputTokens: 120, outputTokens: 480 },
    }));
    await database.db.transaction().execute((tx) => recordAuditBatch(tx, ctx, inputs));
  }
  console.log(
    `  wrote ${n.toLocaleString()} audit events in 4 organizations through the real path in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}

async function pageFeed(app: FastifyInstance, secret: string): Promise<{ n: number; pages: number; secs: number }> {
  // Warm-up (first request of a process: module loading, statement preparation), not measured.
  await app.inject({
    method: 'GET',
    url: '/v1/compliance/activities?limit=1',
    headers: { authorization: `Bearer ${secret}` },
  });
  let after: string | null = null;
  let n = 0;
  let pages = 0;
  let ns = 0n;
  for (;;) {
    // Palisade's time per page: the request through the app, until the whole answer is there
    // (the client's own JSON parsing below is outside the measurement).
    const t0 = process.hrtime.bigint();
    const res = await app.inject({
      method: 'GET',
      url: `/v1/compliance/activities?limit=1000${after ? `&after_id=${after}` : ''}`,
      headers: { authorization: `Bearer ${secret}` },
    });
    const took = process.hrtime.bigint() - t0;
    ns += took;
    if (process.env.BENCH_FEED_TRACE && pages % 10 === 0)
      console.log(`    page ${pages}: ${(Number(took) / 1e6).toFixed(1)} ms`);
    if (res.statusCode !== 200) throw new Error(`feed page failed: ${res.statusCode} ${res.body.slice(0, 300)}`);
    const body = JSON.parse(res.body) as { data: unknown[]; has_more: boolean; last_id: string | null };
    n += body.data.length;
    pages++;
    if (!body.has_more) break;
    after = body.last_id;
  }
  return { n, pages, secs: Number(ns) / 1e9 };
}

/** The raw limit: the same per-organization index ranges merged, read page by page straight from the database. */
async function rawFeed(database: Database): Promise<{ n: number; secs: number }> {
  let cursor: { at: string; id: string } | null = null;
  let n = 0;
  const t0 = process.hrtime.bigint();
  for (;;) {
    let q = database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', ORGS[0] as string);
    const arm = (orgId: string) => {
      let a = database.db.selectFrom('audit_events').selectAll().where('org_id', '=', orgId);
      if (cursor) {
        const c = cursor;
        a = a
          .where('occurred_at', '<=', c.at)
          .where((eb) =>
            eb.or([eb('occurred_at', '<', c.at), eb.and([eb('occurred_at', '=', c.at), eb('id', '<', c.id)])]),
          );
      }
      return a;
    };
    q = arm(ORGS[0] as string);
    for (const o of ORGS.slice(1)) q = q.unionAll(arm(o));
    const rows = await q.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(1000).execute();
    n += rows.length;
    const last = rows[rows.length - 1];
    if (!last || rows.length < 1000) break;
    cursor = { at: last.occurred_at, id: last.id };
  }
  return { n, secs: Number(process.hrtime.bigint() - t0) / 1e9 };
}

async function writeUsage(database: Database, n: number): Promise<void> {
  const t0 = Date.now();
  const models = ['claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-4-1', 'gpt-4.1'];
  const BATCH = 5000;
  for (let i = 0; i < n; i += BATCH) {
    await database.db.transaction().execute(async (tx) => {
      for (let k = i; k < Math.min(n, i + BATCH); k++) {
        const at = new Date(START + Math.floor((k / n) * 30 * 86_400_000));
        const u = Math.floor(rand() * 200);
        await recordUsage(tx, {
          orgId: UNITS[u % 3] as string,
          userId: `usr_${String(u).padStart(26, '0')}`,
          model: models[Math.floor(rand() * 4)] as string,
          inputTokens: 100 + (k % 50),
          outputTokens: 300 + (k % 70),
          at,
        });
      }
    });
  }
  const days = await database.db
    .selectFrom('gateway_usage')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  const hours = await database.db
    .selectFrom('gateway_usage_hourly')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  console.log(
    `  recorded ${n.toLocaleString()} gateway requests through recordUsage in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${Number(days.n).toLocaleString()} daily and ${Number(hours.n).toLocaleString()} hourly rollup rows`,
  );
}

async function timeUsage(
  app: FastifyInstance,
  secret: string,
  label: string,
  query: string,
  csv: boolean,
): Promise<void> {
  const range = `starting_at=2026-01-01T00:00:00Z&ending_at=2026-02-01T00:00:00Z`;
  const t0 = process.hrtime.bigint();
  let rows = 0;
  let bytes = 0;
  let requests = 0;
  if (csv) {
    const res = await app.inject({
      method: 'GET',
      url: `/v1/compliance/usage?${range}&${query}&format=csv`,
      headers: { authorization: `Bearer ${secret}` },
    });
    if (res.statusCode !== 200) throw new Error(res.body.slice(0, 300));
    bytes = res.rawPayload.length;
    const lines = res.body.split('\r\n').filter(Boolean);
    rows = lines.length - 1;
    for (const l of lines.slice(1)) requests += Number(l.split(',')[6]);
  } else {
    let page: string | null = null;
    do {
      const res = await app.inject({
        method: 'GET',
        url: `/v1/compliance/usage?${range}&${query}&limit=10000${page ? `&page=${page}` : ''}`,
        headers: { authorization: `Bearer ${secret}` },
      });
      if (res.statusCode !== 200) throw new Error(res.body.slice(0, 300));
      bytes += res.rawPayload.length;
      const body = JSON.parse(res.body) as { data: { requests: number }[]; next_page: string | null };
      rows += body.data.length;
      for (const r of body.data) requests += r.requests;
      page = body.next_page;
    } while (page);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(
    `  usage ${label.padEnd(26)} ${rows.toLocaleString().padStart(9)} rows, ${(bytes / 1e6).toFixed(1).padStart(5)} MB, ${requests.toLocaleString()} requests counted: ${ms.toFixed(0)} ms`,
  );
}

async function runDialect(dialect: 'sqlite' | 'postgres'): Promise<void> {
  const { database, cleanup } = await open(dialect);
  try {
    await migrateToLatest(database);
    const secret = await seedTree(database);
    const config = loadConfig(
      {},
      { logLevel: 'silent', masterKey: randomBytes(32).toString('base64'), complianceFeedDelaySeconds: 0 },
    );
    const app = await buildApp({ database, config });
    console.log(`\nCompliance API on ${dialect}`);
    await writeEvents(database, EVENTS);
    const raw = await rawFeed(database);
    const feed = await pageFeed(app, secret);
    console.log(
      `  activity feed, limit 1000: ${feed.n.toLocaleString()} activities in ${feed.pages} pages, ${feed.secs.toFixed(1)} s = ${Math.round(feed.n / feed.secs).toLocaleString()} activities/s (raw limit, the same ranges read without HTTP or JSON: ${Math.round(raw.n / raw.secs).toLocaleString()} rows/s)`,
    );
    const ocsf0 = process.hrtime.bigint();
    let ocsfN = 0;
    let after: string | null = null;
    for (let p = 0; p < 100; p++) {
      const res = await app.inject({
        method: 'GET',
        url: `/v1/compliance/activities?limit=1000&format=ocsf${after ? `&after_id=${after}` : ''}`,
        headers: { authorization: `Bearer ${secret}` },
      });
      const body = JSON.parse(res.body) as { data: unknown[]; last_id: string };
      ocsfN += body.data.length;
      after = body.last_id;
    }
    const ocsfSecs = Number(process.hrtime.bigint() - ocsf0) / 1e9;
    console.log(
      `  activity feed, format=ocsf, first 100 pages: ${Math.round(ocsfN / ocsfSecs).toLocaleString()} activities/s`,
    );
    await writeUsage(database, REQUESTS);
    await timeUsage(app, secret, 'per day, JSON (all pages)', 'bucket_width=1d', false);
    await timeUsage(app, secret, 'per day, CSV', 'bucket_width=1d', true);
    await timeUsage(app, secret, 'per hour, CSV', 'bucket_width=1h', true);
    await timeUsage(
      app,
      secret,
      'per hour, one person',
      'bucket_width=1h&user_ids[]=usr_00000000000000000000000042',
      false,
    );
    await app.close();
  } finally {
    await database.close();
    await cleanup();
  }
}

export async function benchCompliance(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  for (const d of dialects) await runDialect(d);
}
