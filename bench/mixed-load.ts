/**
 * Mixed load against real `palisade serve` processes on PostgreSQL: 1 instance, then 3 on the same
 * database, over real sockets. Four operations run at once, each with its own connections so each
 * gets its own throughput and latency: gateway calls to a local upstream (80 % of the offered rate),
 * SCIM user creations (10 %), audit searches (10 %), and password sign-ins at a fixed rate of their
 * own (2/s: a sign-in is 280 ms of scrypt by design, and people sign in once a day, not once per
 * request). Each offered rate is an open-loop steady rate (bench/paced-load.ts: request k is due at
 * k / rate, latency counted from when it was due); every answer's latency is recorded, so the p99 is
 * that of all requests of the mix. Beside them, GET /healthz alone with autocannon (the ceiling of
 * the HTTP stack on this machine in this run).
 *   BENCH_MIXED_SECONDS (default 10), BENCH_MIXED_INSTANCES (default "1 3"),
 *   BENCH_MIXED_RATES (default "250 500 1000 1500"), BENCH_MIXED_SIGNINS (default 2 per second)
 * Goal (issue 19): ≥ 1,500 mixed requests/s at p99 < 50 ms on this 2-core machine.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { dropPostgresSchema } from '../src/db/connect.js';
import { palisadeCommand } from '../test/helpers/cli.js';
import { PG_URL } from '../test/helpers/db.js';
import { type Instance, call, children, newSchema, provision, ready, startServe } from '../test/helpers/instances.js';
import { startModelUpstream } from '../test/helpers/model-upstream.js';
import { freePort } from '../test/peers/rsyslog.js';
import { cpuByProgram, cpuDelta } from './cpu.js';
import { type PacedRequest, pacedLoad } from './paced-load.js';

const SECONDS = Number(process.env.BENCH_MIXED_SECONDS ?? 10);
const INSTANCE_COUNTS = (process.env.BENCH_MIXED_INSTANCES ?? '1 3').split(/\s+/).filter(Boolean).map(Number);
const RATES = (process.env.BENCH_MIXED_RATES ?? '250 500 1000 1500').split(/\s+/).filter(Boolean).map(Number);
const SIGNINS_PER_SECOND = Number(process.env.BENCH_MIXED_SIGNINS ?? 2);

interface Operation {
  name: string;
  /** Share of the offered mixed rate, or a fixed rate of its own (requests/s, whatever the mix). */
  share?: number;
  fixedRate?: number;
  connections: number;
  /** The next request for instance n (a SCIM creation has a new user each time). */
  next: (n: number) => PacedRequest;
}

interface Measured {
  name: string;
  latencies: number[];
  errors: number;
  non2xx: number;
  firstFailure: string;
  answeredInTime: number;
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0);

/** GET /healthz alone with autocannon, closed loop: the ceiling of the HTTP stack in this run. */
const ceilingOf = (url: string): Promise<autocannon.Result> =>
  new Promise((resolve, reject) => {
    autocannon({ url: `${url}/healthz`, connections: 8, duration: SECONDS }, (err, result) =>
      err ? reject(err) : resolve(result),
    );
  });

export async function benchMixedLoad(): Promise<void> {
  const upstream = await startModelUpstream();
  const s = await newSchema();
  const env = {
    DATABASE_URL: s.url,
    PALISADE_MASTER_KEY: randomBytes(32).toString('base64'),
    PALISADE_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
    PALISADE_PUBLIC_URL: 'http://127.0.0.1',
    PALISADE_LOG_LEVEL: 'warn',
    PALISADE_BAD_TOKEN_MAX_PER_IP: '1000000',
  };
  const [cmd, args] = palisadeCommand('migrate');
  execFileSync(cmd, args, { env: { ...process.env, ...env }, stdio: 'pipe' });
  console.log(
    `\nMixed load on PostgreSQL (open loop at steady offered rates, ${SECONDS} s per run; ${cpus().length} cores): sign-ins, SCIM user writes, gateway calls (local upstream), audit searches at once`,
  );
  let instances: Instance[] = [];
  try {
    instances = [startServe(env, await freePort())];
    await ready(instances[0]!);
    const org = await provision(env, instances[0]!.url, upstream);
    const dir = await call(instances[0]!.url, 'POST', `/api/v1/orgs/${org.orgId}/scim/directories`, org.auth, {
      name: 'bench',
    });
    const scimToken = String(dir.body.token);
    const scimBase = `/scim/v2/${String((dir.body.directory as { id: string }).id)}`;
    // Sign-ins use the owner's password: a failed one would be throttled, a correct one never is.
    const login = JSON.stringify({ email: 'owner@scale.example', password: 'a long first passphrase' });
    let scimSeq = 0;
    const gatewayBody = JSON.stringify({
      model: 'claude-test',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'hello' }],
    });
    const operations: Operation[] = [
      {
        name: 'sign-in (password)',
        fixedRate: SIGNINS_PER_SECOND,
        connections: 2,
        next: () => ({
          method: 'POST',
          path: '/api/v1/auth/login',
          headers: { 'content-type': 'application/json' },
          body: login,
        }),
      },
      {
        name: 'SCIM user create',
        share: 0.1,
        connections: 6,
        next: (n) => {
          scimSeq += 1;
          const userName = `u${n}-${scimSeq}-${randomBytes(3).toString('hex')}@people.example`;
          return {
            method: 'POST',
            path: `${scimBase}/Users`,
            headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' },
            body: JSON.stringify({
              schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
              userName,
              active: true,
              emails: [{ value: userName, primary: true }],
            }),
          };
        },
      },
      {
        name: 'gateway call',
        share: 0.8,
        connections: 32,
        next: () => ({
          method: 'POST',
          path: '/v1/messages',
          headers: {
            'x-api-key': org.gatewayKey,
            'content-type': 'application/json',
            'anthropic-version': '2023-06-01',
          },
          body: gatewayBody,
        }),
      },
      {
        name: 'audit search',
        share: 0.1,
        connections: 6,
        next: () => ({
          method: 'GET',
          path: `/api/v1/orgs/${org.orgId}/audit-events?limit=50&action=gateway.*`,
          headers: org.auth,
        }),
      },
    ];

    // BENCH_MIXED_ONLY: a comma-separated subset of the operations (by name prefix), to see one alone.
    const only = process.env.BENCH_MIXED_ONLY?.split(',').map((n) => n.trim());
    if (only)
      operations.splice(0, operations.length, ...operations.filter((op) => only.some((n) => op.name.startsWith(n))));
    for (const count of INSTANCE_COUNTS) {
      while (instances.length < count) {
        const i = startServe(env, await freePort());
        instances.push(i);
        await ready(i);
      }
      const active = instances.slice(0, count);
      // Warm-up (JIT, connection pools, statement caches): the mix at the lowest rate for 3 s, not counted.
      const run = (rate: number, seconds: number) =>
        Promise.all(
          operations.map(async (op) => {
            const opRate = op.fixedRate ?? rate * (op.share ?? 0);
            const per = Math.max(1, Math.round(op.connections / count));
            const rs = await Promise.all(
              (opRate > 0 ? active : []).map((i, n) =>
                pacedLoad({
                  url: i.url,
                  connections: per,
                  rate: Math.max(0.5, opRate / count),
                  seconds,
                  next: () => op.next(n),
                }),
              ),
            );
            return {
              name: op.name,
              latencies: rs.flatMap((r) => r.latencies).sort((x, y) => x - y),
              errors: rs.reduce((n, r) => n + r.errors, 0),
              non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
              firstFailure: rs.map((r) => r.firstFailure).find(Boolean) ?? '',
              answeredInTime: rs.reduce((n, r) => n + r.answeredInTime, 0),
            } satisfies Measured;
          }),
        );
      await run(RATES[0] ?? 250, 3);
      const ceiling = await Promise.all(active.map((i) => ceilingOf(i.url)));
      const ceilingRps = ceiling.reduce((n, r) => n + r.requests.average, 0);
      console.log(
        `  ${count} instance${count > 1 ? 's' : ''} · ceiling of the HTTP stack (GET /healthz alone, 8 connections): ${ceilingRps.toFixed(0)} req/s`,
      );
      let best = 0;
      for (const rate of RATES) {
        // Each operation's rate and connections are split over the instances (at least one connection each).
        const cpuBefore = cpuByProgram();
        const started = performance.now();
        const results = await run(rate, SECONDS);
        const cpu = cpuDelta(cpuBefore, cpuByProgram());
        const elapsed = (performance.now() - started) / 1000;
        const all = results.flatMap((m) => m.latencies).sort((x, y) => x - y);
        const achieved = results.reduce((n, m) => n + m.answeredInTime, 0) / SECONDS;
        const p99 = percentile(all, 99);
        const met = achieved >= rate * 0.97 && p99 < 50;
        if (met) best = Math.max(best, rate);
        console.log(
          `    offered ${String(rate).padStart(5)} req/s + ${SIGNINS_PER_SECOND} sign-ins/s · answered ${achieved.toFixed(0).padStart(5)} req/s · all requests p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms ${met ? '(p99 < 50 ms ✓)' : '(✗)'} · ${(achieved / Math.min(count, cpus().length)).toFixed(0)} req/s per busy core`,
        );
        // Where the cores went: per answered request, by program (the upstream runs in the load generator's process).
        const answered = results.reduce((n, m) => n + m.latencies.length, 0);
        const perRequest = (k: string) => (((cpu.get(k) ?? 0) / Math.max(1, answered)) * 1000).toFixed(2);
        const busy = [...cpu.values()].reduce((n, v) => n + v, 0) / elapsed;
        if (cpu.size > 0)
          console.log(
            `      CPU per request: Palisade ${perRequest('palisade')} ms, PostgreSQL ${perRequest('postgresql')} ms, load generator and upstream ${perRequest('load generator')} ms, other ${perRequest('other')} ms · ${busy.toFixed(2)} of ${cpus().length} cores busy`,
          );
        for (const m of results) {
          console.log(
            `      ${m.name.padEnd(20)} ${(m.answeredInTime / SECONDS).toFixed(0).padStart(6)} req/s  p50 ${percentile(m.latencies, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(m.latencies, 99).toFixed(1).padStart(7)} ms${m.errors ? `  ${m.errors} errors` : ''}${m.non2xx ? `  ${m.non2xx} non-2xx` : ''}`,
          );
          if (m.errors > 0 || m.non2xx > 0)
            throw new Error(
              `mixed load: ${m.name} had ${m.errors} errors and ${m.non2xx} non-2xx answers${m.firstFailure ? ` (first: ${m.firstFailure})` : ''}`,
            );
        }
      }
      console.log(
        `    goal ≥ 1,500 mixed req/s at p99 < 50 ms: ${best >= 1500 ? 'met' : 'NOT met'} with ${count} instance${count > 1 ? 's' : ''} · highest offered rate answered in full at p99 < 50 ms: ${best ? `${best} req/s` : 'none of those tried'}`,
      );
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await upstream.close();
    await dropPostgresSchema(PG_URL, s.schema);
  }
}
