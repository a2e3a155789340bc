/**
 * Audit-producing requests per second for ONE organization, 24 concurrent writers, on PostgreSQL,
 * with 1 and 3 Palisade instances: `palisade serve --workers N` (a Node cluster: N real processes
 * sharing the port, one database). Each request starts a conversation over HTTP with a personal API
 * token (a change plus its `conversation.created` audit event, in one transaction). After each run
 * the organization's chain is verified and must hold every acknowledged request's event.
 *   BENCH_CONCURRENCY_SECONDS (default 10): length of each run. BENCH_CONCURRENCY_INSTANCES (default "1 3").
 *   BENCH_AUDIT_SEALING (default inline,batched,background): the sealing modes compared.
 * Goal (issue 23): ≥ 2,000 requests/s, and 3 instances no worse than 1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import { createApiToken } from '../src/auth/api-tokens.js';
import { cpuByProgram, cpuDelta } from './cpu.js';
import { verifyChain } from '../src/audit/verify.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { systemCtx, withCaller } from '../src/context.js';
import { dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { Db } from '../src/db/schema.js';
import { createOrganization } from '../src/membership/organizations.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.BENCH_CONCURRENCY_SECONDS ?? 10);
const WRITERS = 24;
const WARMUP_SECONDS = Number(process.env.BENCH_CONCURRENCY_WARMUP_SECONDS ?? 5);
const INSTANCE_COUNTS = (process.env.BENCH_CONCURRENCY_INSTANCES ?? '1 3').split(/\s+/).filter(Boolean).map(Number);
type Sealing = 'inline' | 'batched' | 'background';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

async function waitUp(url: string, proc: ChildProcess): Promise<void> {
  const until = Date.now() + 300_000;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`palisade serve exited with ${proc.exitCode}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('palisade serve did not start within 300 s');
}

/** Waits until the instances have sealed every event of the organization; the milliseconds it took. */
async function sealedByInstances(db: Db, orgId: string): Promise<number> {
  const from = Date.now();
  while (Date.now() - from < 5000) {
    const pending = await db
      .selectFrom('audit_pending')
      .select('id')
      .where('org_id', '=', orgId)
      .limit(1)
      .executeTakeFirst();
    if (!pending) return Date.now() - from;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('acknowledged events were still unsealed 5 s after the last acknowledgement');
}

async function run(
  instances: number,
  sealing: Sealing,
): Promise<{
  rps: number;
  ok: number;
  failed: number;
  events: number;
  sealedAfterMs: number;
  cpu: Map<string, number>;
  secs: number;
}> {
  const schema = `bench_conc_${Date.now().toString(36)}`;
  const database = await openDatabase(PG_URL, { pgSchema: schema });
  const masterKey = randomBytes(32).toString('base64');
  let proc: ChildProcess | undefined;
  try {
    await migrateToLatest(database);
    const config = loadConfig({}, { databaseUrl: PG_URL, logLevel: 'silent', masterKey });
    const sys = systemCtx({ db: database.db, clock: systemClock, config }, 'bench');
    const { organization } = await createOrganization(sys, { name: 'Bench', ownerEmail: 'owner@bench.example' });
    // The owner of an organization the operator creates is invited; accepted here, as the bench signs in as them.
    await database.db
      .updateTable('memberships')
      .set({ status: 'active' })
      .where('org_id', '=', organization.id)
      .execute();
    const owner = await database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'owner@bench.example')
      .executeTakeFirstOrThrow();
    const { token } = await createApiToken(
      withCaller(sys, {
        kind: 'user',
        userId: owner.id,
        email: 'owner@bench.example',
        via: 'session',
        credentialId: 'ses_bench',
      }),
      { name: 'bench' },
    );
    const orgId = organization.id;
    const before = Number(
      (await database.db.selectFrom('audit_chain_heads').select('seq').where('org_id', '=', orgId).executeTakeFirst())
        ?.seq ?? 0,
    );

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, '../src/cli.ts'),
        'serve',
        '--workers',
        String(instances),
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
      ],
      {
        env: {
          ...process.env,
          DATABASE_URL: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
          PALISADE_MASTER_KEY: masterKey,
          PALISADE_AUDIT_SEALING: sealing,
          PALISADE_LOG_LEVEL: 'warn',
          PALISADE_PUBLIC_URL: url,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    await waitUp(url, proc);

    let firstFailure = '';
    const agent = new Agent({ keepAlive: true, maxSockets: WRITERS });
    const create = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `${url}/api/v1/orgs/${orgId}/conversations`,
          { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => {
              if (res.statusCode !== 201 && !firstFailure) firstFailure = `${res.statusCode} ${body.slice(0, 300)}`;
              resolve(res.statusCode ?? 0);
            });
          },
        );
        req.on('error', reject);
        req.end('{}');
      });
    const load = (seconds: number) =>
      new Promise<autocannon.Result>((resolve, reject) =>
        autocannon(
          {
            url: `${url}/api/v1/orgs/${orgId}/conversations`,
            connections: WRITERS,
            duration: seconds,
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: '{}',
          },
          (err, r) => (err ? reject(err) : resolve(r)),
        ),
      );
    // Warm-up: connections and pools in every worker, then the same load for WARMUP_SECONDS so that
    // every worker's JIT has optimized the request path (each of 3 workers sees a third of the
    // requests, so it takes them three times as long as one instance to get there).
    await Promise.all(Array.from({ length: WRITERS * 4 }, create));
    agent.destroy();
    if (firstFailure) throw new Error(`warm-up request failed: ${firstFailure}`);
    const warmup = await load(WARMUP_SECONDS);
    if (warmup.non2xx + warmup.errors > 0) throw new Error('warm-up requests failed');
    await sealedByInstances(database.db, orgId);
    const warm = Number(
      (await database.db.selectFrom('audit_chain_heads').select('seq').where('org_id', '=', orgId).executeTakeFirst())
        ?.seq ?? 0,
    );
    // The timed run: autocannon (a load generator that costs the shared cores less than a Node
    // HTTP client loop), WRITERS connections each with one request in flight.
    const cpuBefore = cpuByProgram();
    const result = await load(SECONDS);
    const cpu = cpuDelta(cpuBefore, cpuByProgram());
    const ok = result['2xx'];
    const failed = result.non2xx + result.errors + result.timeouts;
    const secs = result.duration;
    if (ok === 0) throw new Error('no request succeeded');

    // The instances' own sealers link what was acknowledged: nothing here seals. How long after the
    // last acknowledgement the organization has no unsealed event (the guarantee: within 1 s).
    const sealedAfterMs = await sealedByInstances(database.db, orgId);

    // Every acknowledged request's event is in the verified chain.
    const v = await verifyChain(database.db, orgId);
    if (!v.ok) throw new Error(`chain does not verify after the run: ${JSON.stringify(v.firstFailure)}`);
    if (v.eventsChecked < warm + ok)
      throw new Error(`${ok} acknowledged requests but only ${v.eventsChecked - warm} events in the chain`);
    if (before > warm) throw new Error('head moved backwards');
    return { rps: ok / secs, ok, failed, events: v.eventsChecked - warm, sealedAfterMs, cpu, secs };
  } finally {
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc!.once('exit', r));
    }
    await database.close();
    await dropPostgresSchema(PG_URL, schema);
  }
}

export async function benchAuditConcurrency(dialects: string[]): Promise<void> {
  if (!dialects.includes('postgres')) return;
  console.log(
    `\nAudit-producing requests for ONE organization on PostgreSQL: ${WRITERS} concurrent writers over HTTP, ${SECONDS} s per run, chain verified after each`,
  );
  // The three write paths in the same run: `inline` (each transaction links its own event under the
  // organization's chain-head lock, the design before issue 23), `batched` (append, then a group
  // sealer links many at once before the response is sent) and `background` (append, answered at
  // commit, sealed within a second; the default on PostgreSQL).
  const modes = (process.env.BENCH_AUDIT_SEALING ?? 'inline,batched,background').split(',') as Sealing[];
  const results = new Map<string, number>();
  for (const sealing of modes)
    for (const instances of INSTANCE_COUNTS) {
      const r = await run(instances, sealing);
      results.set(`${sealing}/${instances}`, r.rps);
      console.log(
        `  ${sealing.padEnd(7)} ${instances} instance(s) (serve --workers ${instances}): ${Math.round(r.rps).toLocaleString().padStart(6)} requests/s · ${r.ok.toLocaleString()} acknowledged, ${r.failed} failed · chain verifies with every acknowledged event, all sealed ${r.sealedAfterMs} ms after the last answer`,
      );
      if (r.cpu.size > 0) {
        const perRequest = (k: string) => (((r.cpu.get(k) ?? 0) / r.ok) * 1000).toFixed(2);
        const busy = [...r.cpu.values()].reduce((n, v) => n + v, 0) / r.secs;
        console.log(
          `          CPU per request: Palisade ${perRequest('palisade')} ms, PostgreSQL ${perRequest('postgresql')} ms, load generator ${perRequest('load generator')} ms, other ${perRequest('other')} ms · ${busy.toFixed(2)} of ${cpus().length} cores busy`,
        );
      }
    }
  for (const sealing of modes) {
    const one = results.get(`${sealing}/1`) ?? 0;
    const three = results.get(`${sealing}/3`) ?? 0;
    console.log(
      `  ${sealing}: goal ≥ 2,000/s with 1 and with 3 instances ${Math.min(one, three) >= 2000 ? 'met' : 'NOT met on this machine'} · 3 instances vs 1: ${(three / one).toFixed(2)}× (no worse: ${three >= one * 0.95 ? 'met' : 'NOT met'}, within the 5 % noise between runs)`,
    );
  }
  if (modes.includes('inline'))
    for (const sealing of modes.filter((m) => m !== 'inline'))
      console.log(
        `  ${sealing} vs inline: ${((results.get(`${sealing}/1`) ?? 0) / (results.get('inline/1') ?? 1)).toFixed(2)}× (1 instance), ${((results.get(`${sealing}/3`) ?? 0) / (results.get('inline/3') ?? 1)).toFixed(2)}× (3 instances)`,
      );
}

if (import.meta.url === `file://${process.argv[1]}`) await benchAuditConcurrency(['postgres']);
