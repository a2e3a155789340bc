import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { dropPostgresSchema } from '../../src/db/connect.js';
import { palisadeCommand } from '../helpers/cli.js';
import { PG_URL, TEST_DIALECT } from '../helpers/db.js';
import {
  type Instance,
  call,
  children,
  message,
  newSchema,
  provision,
  ready,
  startServe,
  waitFor,
} from '../helpers/instances.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';
import { freePort } from '../peers/rsyslog.js';

/**
 * Scale-out as operators run it: three real `palisade serve` processes (and a `--workers` cluster) on
 * the machine's PostgreSQL, driven over real sockets. Jobs run once across instances, revocation
 * reaches every instance at once, kill -9 of one instance loses nothing acknowledged, a graceful stop
 * finishes what is in flight, and a rolling restart of a cluster fails no request.
 */
const skip = TEST_DIALECT !== 'postgres' && 'several Palisade processes share one PostgreSQL (SQLite is one process)';

describe('three Palisade instances on one PostgreSQL', { skip }, () => {
  const schemas: string[] = [];
  let upstream: ModelUpstream;
  let env: Record<string, string>;
  let dbUrl: string;
  let instances: Instance[] = [];
  let org: Awaited<ReturnType<typeof provision>>;
  let startedAt: Date;

  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> => {
    const client = new pg.Client({ connectionString: dbUrl });
    await client.connect();
    try {
      return (await client.query(text, params)).rows as T[];
    } finally {
      await client.end();
    }
  };

  before(async () => {
    upstream = await startModelUpstream();
    const s = await newSchema();
    schemas.push(s.schema);
    dbUrl = s.url;
    env = {
      DATABASE_URL: s.url,
      PALISADE_MASTER_KEY: randomBytes(32).toString('base64'),
      PALISADE_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
      PALISADE_PUBLIC_URL: 'http://127.0.0.1',
    };
    // Migrate and create the first organization before the instances start, as an operator would.
    const [cmd, args] = palisadeCommand('migrate');
    execFileSync(cmd, args, { env: { ...process.env, ...env }, stdio: 'pipe' });
    startedAt = new Date();
    instances = await Promise.all([0, 1, 2].map(async () => startServe(env, await freePort())));
    await Promise.all(instances.map(ready));
    org = await provision(env, instances[0]!.url, upstream);
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await upstream?.close();
    for (const s of schemas) await dropPostgresSchema(PG_URL, s);
  });

  test('a job due once ran once across the three instances (job leases)', async () => {
    // Every hourly (or rarer) job is due at start-up; three instances raced for each.
    await waitFor(
      'the start-up jobs to finish',
      async () =>
        (
          await sql<{ n: string }>(
            `select count(*) as n from job_leases where interval_ms >= 3600000 and last_finished_at is null`,
          )
        )[0]?.n === '0',
      30_000,
    );
    const jobs = await sql<{ name: string; runs: number; last_started_at: string }>(
      `select name, runs, last_started_at from job_leases where interval_ms >= 3600000 order by name`,
    );
    assert.ok(jobs.length >= 5, `hourly jobs registered: ${jobs.map((j) => j.name).join(', ')}`);
    for (const j of jobs) {
      assert.equal(Number(j.runs), 1, `${j.name} ran ${j.runs} times`);
      assert.ok(
        new Date(j.last_started_at) >= new Date(startedAt.getTime() - 1000),
        `${j.name} ran after the instances started`,
      );
    }
  });

  test('a gateway key revoked on one instance is refused by all three within 1 s', async () => {
    const key = await call(instances[0]!.url, 'POST', `/api/v1/orgs/${org.orgId}/gateway/keys`, org.auth, {
      name: 'to revoke',
    });
    const secret = String(key.body.key);
    for (const i of instances)
      assert.equal(
        (await call(i.url, 'POST', '/v1/messages', { 'x-api-key': secret }, message())).status,
        200,
        `${i.url} serves the key`,
      );
    const revoked = await call(
      instances[1]!.url,
      'DELETE',
      `/api/v1/orgs/${org.orgId}/gateway/keys/${String((key.body.gatewayKey as { id: string }).id)}`,
      org.auth,
    );
    assert.equal(revoked.status, 200);
    const at = Date.now();
    const refusedAfter = await Promise.all(
      instances.map(async (i) => {
        for (;;) {
          const r = await call(i.url, 'POST', '/v1/messages', { 'x-api-key': secret }, message());
          if (r.status === 401) return Date.now() - at;
          if (Date.now() - at > 5000) return Infinity;
        }
      }),
    );
    for (const [n, ms] of refusedAfter.entries())
      assert.ok(ms <= 1000, `instance ${n + 1} refused the revoked key after ${ms} ms`);
  });

  test('kill -9 of one instance during a mixed load: every acknowledged change and its audit event is there, the chain verifies, a restarted instance joins in', async () => {
    const acknowledged: string[] = [];
    const reasons: string[] = [];
    let failed = 0;
    let gatewayOk = 0;
    let stop = false;
    const worker = async (n: number) => {
      for (let k = 0; !stop; k++) {
        const target = instances[(n + k) % instances.length]!;
        try {
          if (k % 3 === 0) {
            const r = await call(
              target.url,
              'POST',
              '/v1/messages',
              { 'x-api-key': org.gatewayKey },
              message('claude-test', `load ${n}.${k}`),
            );
            if (r.status === 200) gatewayOk += 1;
            else {
              failed += 1;
              reasons.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
            }
          } else if (k % 3 === 1) {
            const r = await call(target.url, 'POST', `/api/v1/orgs/${org.orgId}/gateway/keys`, org.auth, {
              name: `load ${n}.${k}`,
            });
            if (r.status === 201) acknowledged.push(String((r.body.gatewayKey as { id: string } | undefined)?.id));
            else {
              failed += 1;
              reasons.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
            }
          } else {
            const r = await call(target.url, 'GET', `/api/v1/orgs/${org.orgId}/audit-events?limit=20`, org.auth);
            if (r.status !== 200) failed += 1;
          }
        } catch {
          failed += 1; // the killed instance's connections; nothing was acknowledged on them
        }
      }
    };
    const load = Promise.all([0, 1, 2, 3, 4, 5].map(worker));
    await waitFor(
      () => `some load (${reasons.slice(0, 3).join('; ')})`,
      () => acknowledged.length >= 20,
    );
    const victim = instances[1]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const atKill = acknowledged.length;
    await waitFor('load after the kill', () => acknowledged.length >= atKill + 20);
    // The instance comes back on its port and takes its share again.
    instances[1] = startServe(env, victim.port);
    await ready(instances[1]);
    const atRestart = acknowledged.length;
    await waitFor('load on the restarted instance', () => acknowledged.length >= atRestart + 20);
    stop = true;
    await load;
    assert.ok(gatewayOk > 0, 'gateway calls were served during the load');

    const ids = acknowledged.filter((id) => id !== 'undefined');
    assert.equal(ids.length, acknowledged.length, 'every 201 named its key');
    const rows = await sql<{ id: string }>(`select id from gateway_keys where id = any($1)`, [ids]);
    assert.equal(rows.length, ids.length, `${ids.length - rows.length} acknowledged keys are missing`);
    // The instances run the default sealing (background): an event is durable at its change's commit
    // and sealed within a second by whichever instance's sweep holds the chain head — the survivors
    // seal what the killed instance appended. Nothing here seals; it waits for theirs.
    await waitFor(
      'every appended event to be sealed by the instances',
      async () => (await sql(`select 1 from audit_pending where org_id = $1 limit 1`, [org.orgId])).length === 0,
      10_000,
    );
    const audited = new Set<string>();
    for (const e of await sql<{ targets: string }>(
      `select targets from audit_events where org_id = $1 and action = 'gateway_key.created'`,
      [org.orgId],
    )) {
      for (const t of JSON.parse(e.targets) as { id: string }[]) audited.add(t.id);
    }
    const unaudited = ids.filter((id) => !audited.has(id));
    assert.deepEqual(unaudited, [], 'every acknowledged key has its audit event');

    const [cmd, args] = palisadeCommand('audit', 'verify', '--org', org.orgId, '--json');
    let verified: { ok: boolean } | undefined;
    // An event committed an instant ago may still be sealing: verification is retried for a second.
    await waitFor(
      'the chain to verify',
      () => {
        verified = JSON.parse(execFileSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' })) as {
          ok: boolean;
        };
        return verified.ok;
      },
      10_000,
    ).catch(() => undefined);
    assert.equal(verified?.ok, true, JSON.stringify(verified));
  });

  test('SIGTERM: /readyz answers 503 at once, a model call in flight completes, then no new connection is taken and the process exits 0 (lease release: test/jobs/leases.test.ts)', async () => {
    const port = await freePort();
    const leaving = startServe({ ...env, PALISADE_SHUTDOWN_DRAIN_DELAY_SECONDS: '1' }, port);
    await ready(leaving);
    const inFlight = call(
      leaving.url,
      'POST',
      '/v1/messages',
      { 'x-api-key': org.gatewayKey },
      message('slow-2500', 'in flight'),
    );
    await waitFor('the model call to reach the upstream', () =>
      upstream.seen.some((s) => (s.body.model as string) === 'slow-2500'),
    );
    leaving.child.kill('SIGTERM');
    await waitFor('draining', () => /shutting down/.test(leaving.output()), 10_000);
    const readiness = await call(leaving.url, 'GET', '/readyz', {});
    assert.equal(readiness.status, 503);
    assert.equal((readiness.body.error as { code: string }).code, 'shutting_down');
    const answer = await inFlight;
    assert.equal(answer.status, 200, 'the call in flight was answered');
    assert.equal(answer.headers.connection, 'close', 'and its connection closed so the client moves on');
    await waitFor(
      'the listener to close',
      async () => {
        try {
          await call(leaving.url, 'GET', '/healthz', {});
          return false;
        } catch (err) {
          return /ECONNREFUSED/.test(String(err));
        }
      },
      10_000,
    );
    assert.equal(await leaving.exited, 0);
  });
});

describe('palisade serve --workers 3: SIGUSR2 restarts the workers one by one under load', { skip }, () => {
  let schema = '';
  let upstream: ModelUpstream;
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await upstream?.close();
    if (schema) await dropPostgresSchema(PG_URL, schema);
  });

  test('every request of the load is answered while each worker is replaced; new pids serve afterwards', async () => {
    upstream = await startModelUpstream();
    const s = await newSchema();
    schema = s.schema;
    const env = {
      DATABASE_URL: s.url,
      PALISADE_MASTER_KEY: randomBytes(32).toString('base64'),
      PALISADE_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
      PALISADE_PUBLIC_URL: 'http://127.0.0.1',
    };
    const [cmd, args] = palisadeCommand('migrate');
    execFileSync(cmd, args, { env: { ...process.env, ...env }, stdio: 'pipe' });
    const cluster = startServe(env, await freePort(), ['--workers', '3']);
    await waitFor('three workers', () => (cluster.output().match(/Palisade is listening/g) ?? []).length >= 3, 120_000);
    const org = await provision(env, cluster.url, upstream);
    const before = execFileSync('pgrep', ['-P', String(cluster.child.pid)])
      .toString()
      .trim()
      .split('\n')
      .sort();
    assert.equal(before.length, 3);

    const failures: string[] = [];
    let answered = 0;
    let stop = false;
    const worker = async (n: number) => {
      for (let k = 0; !stop; k++) {
        try {
          const r =
            k % 2 === 0
              ? await call(
                  cluster.url,
                  'POST',
                  '/v1/messages',
                  { 'x-api-key': org.gatewayKey },
                  message('slow-50', `roll ${n}.${k}`),
                )
              : await call(cluster.url, 'GET', `/api/v1/orgs/${org.orgId}`, org.auth);
          if (r.status === 200) answered += 1;
          else failures.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));
    await waitFor(
      () => `load (${failures.slice(0, 3).join('; ')})`,
      () => answered >= 20,
    );
    cluster.child.kill('SIGUSR2');
    await waitFor(
      () => `the rolling restart: ${cluster.output().slice(-3000)}`,
      () => /rolling restart done/.test(cluster.output()),
      // Three workers start one after another, each listening before its predecessor drains; on a
      // loaded 2-core machine one start (tsx, 250 routes' schemas) took over 40 s.
      300_000,
    );
    const atEnd = answered;
    await waitFor(
      () => `load after the roll (${failures.slice(0, 3).join('; ')})`,
      () => answered >= atEnd + 20,
    );
    stop = true;
    await load;
    assert.deepEqual(
      failures,
      [],
      `${failures.length} of ${answered + failures.length} requests failed during the rolling restart`,
    );
    const afterPids = execFileSync('pgrep', ['-P', String(cluster.child.pid)])
      .toString()
      .trim()
      .split('\n')
      .sort();
    assert.equal(afterPids.length, 3);
    assert.deepEqual(
      afterPids.filter((p) => before.includes(p)),
      [],
      'every worker was replaced',
    );
    cluster.child.kill('SIGTERM');
    assert.equal(await cluster.exited, 0);
  });
});
