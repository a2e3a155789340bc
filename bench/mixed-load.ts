/**
 * Mixed load against real `palisade serve` processes on PostgreSQL: 1 instance, then 3 on the same
 * database, driven by autocannon over real sockets. Four operations run at once, each with its own
 * connections so each gets its own throughput and latency: sign-ins (password), SCIM user writes,
 * gateway calls to a local upstream, and audit searches. Beside them, the same autocannon against
 * GET /healthz alone (the ceiling of the HTTP stack on this machine in this run).
 *   BENCH_MIXED_SECONDS (default 10), BENCH_MIXED_INSTANCES (default "1 3")
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

const SECONDS = Number(process.env.BENCH_MIXED_SECONDS ?? 10);
const INSTANCE_COUNTS = (process.env.BENCH_MIXED_INSTANCES ?? '1 3').split(/\s+/).filter(Boolean).map(Number);

interface Operation {
  name: string;
  connections: number;
  /** One autocannon request description per instance (autocannon drives one origin at a time). */
  request: (n: number) => autocannon.Request;
}

interface Measured {
  name: string;
  requests: number;
  errors: number;
  non2xx: number;
  p50: number;
  p99: number;
}

const run = (
  url: string,
  connections: number,
  requests: autocannon.Request[],
  duration = SECONDS,
): Promise<autocannon.Result> =>
  new Promise((resolve, reject) => {
    autocannon({ url, connections, duration, requests }, (err, result) => (err ? reject(err) : resolve(result)));
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
    `\nMixed load on PostgreSQL (autocannon, ${SECONDS} s per run; ${cpus().length} cores): sign-ins, SCIM user writes, gateway calls (local upstream), audit searches at once`,
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
    const operations: Operation[] = [
      {
        name: 'sign-in (password)',
        connections: 2,
        request: () => ({
          method: 'POST',
          path: '/api/v1/auth/login',
          headers: { 'content-type': 'application/json' },
          body: login,
        }),
      },
      {
        name: 'SCIM user create',
        connections: 4,
        request: (n) => ({
          method: 'POST',
          path: `${scimBase}/Users`,
          headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' },
          setupRequest: (req) => {
            scimSeq += 1;
            const userName = `u${n}-${scimSeq}-${randomBytes(3).toString('hex')}@people.example`;
            return {
              ...req,
              body: JSON.stringify({
                schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
                userName,
                active: true,
                emails: [{ value: userName, primary: true }],
              }),
            };
          },
        }),
      },
      {
        name: 'gateway call',
        connections: 8,
        request: () => ({
          method: 'POST',
          path: '/v1/messages',
          headers: {
            'x-api-key': org.gatewayKey,
            'content-type': 'application/json',
            'anthropic-version': '2023-06-01',
          },
          body: JSON.stringify({ model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'hello' }] }),
        }),
      },
      {
        name: 'audit search',
        connections: 4,
        request: () => ({
          method: 'GET',
          path: `/api/v1/orgs/${org.orgId}/audit-events?limit=50&action=gateway.*`,
          headers: org.auth,
        }),
      },
    ];

    for (const count of INSTANCE_COUNTS) {
      while (instances.length < count) {
        const i = startServe(env, await freePort());
        instances.push(i);
        await ready(i);
      }
      const active = instances.slice(0, count);
      // Warm-up (JIT, connection pools, statement caches): the same mix for 2 s, not counted.
      await Promise.all(operations.flatMap((op) => active.map((i, n) => run(i.url, 1, [op.request(n)], 2))));
      const ceiling = await Promise.all(active.map((i) => run(i.url, 8, [{ method: 'GET', path: '/healthz' }])));
      const ceilingRps = ceiling.reduce((n, r) => n + r.requests.average, 0);
      const measured: Measured[] = [];
      // Each operation's connections are split over the instances (at least one per instance).
      const results = await Promise.all(
        operations.map(async (op) => {
          const per = Math.max(1, Math.round(op.connections / count));
          const rs = await Promise.all(active.map((i, n) => run(i.url, per, [op.request(n)])));
          return { op, rs };
        }),
      );
      for (const { op, rs } of results) {
        measured.push({
          name: op.name,
          requests: rs.reduce((n, r) => n + r.requests.total, 0),
          errors: rs.reduce((n, r) => n + r.errors + r.timeouts, 0),
          non2xx: rs.reduce((n, r) => n + r.non2xx, 0),
          // Over several instances: the worst instance's percentile (an upper bound of the merged one).
          p50: Math.max(...rs.map((r) => r.latency.p50)),
          p99: Math.max(...rs.map((r) => r.latency.p99)),
        });
      }
      const total = measured.reduce((n, m) => n + m.requests, 0) / SECONDS;
      const worstP99 = Math.max(...measured.map((m) => m.p99));
      console.log(
        `  ${count} instance${count > 1 ? 's' : ' '} · ${total.toFixed(0)} mixed requests/s, worst p99 ${worstP99} ms · ${(total / Math.min(count, cpus().length)).toFixed(0)} req/s per busy core · ceiling GET /healthz alone ${ceilingRps.toFixed(0)} req/s · goal ≥ 1,500 req/s at p99 < 50 ms ${total >= 1500 && worstP99 < 50 ? '✓' : '✗'}`,
      );
      for (const m of measured) {
        console.log(
          `    ${m.name.padEnd(20)} ${(m.requests / SECONDS).toFixed(0).padStart(6)} req/s  p50 ${String(m.p50).padStart(4)} ms  p99 ${String(m.p99).padStart(5)} ms${m.errors ? `  ${m.errors} errors` : ''}${m.non2xx ? `  ${m.non2xx} non-2xx` : ''}`,
        );
        if (m.errors > 0 || m.non2xx > 0)
          throw new Error(`mixed load: ${m.name} had ${m.errors} errors and ${m.non2xx} non-2xx answers`);
      }
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await upstream.close();
    await dropPostgresSchema(PG_URL, s.schema);
  }
}
