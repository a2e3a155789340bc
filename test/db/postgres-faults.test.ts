import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyChain } from '../../src/audit/verify.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { systemCtx } from '../../src/context.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createOrganization } from '../../src/membership/organizations.js';
import { palisadeCommand } from '../helpers/cli.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { type PostgresInstance, startPostgresInstance } from '../peers/postgres-instance.js';

/**
 * PostgreSQL faults on a PRIVATE server (test/peers/postgres-instance.ts): restarts under a write
 * load, a failover to a read-only server, a full disk. The shared server on 5432 is never touched.
 */
const runnable =
  TEST_DIALECT !== 'postgres'
    ? 'PostgreSQL only'
    : process.getuid?.() !== 0
      ? 'needs root (runs a private PostgreSQL as the postgres user)'
      : false;

interface Outcome {
  status: number;
  code?: string;
  id?: string;
}

async function seed(url: string): Promise<{ database: Database; orgId: string; setupToken: string }> {
  const database = await openDatabase(url);
  await migrateToLatest(database);
  const config = loadConfig({}, { masterKey: randomBytes(32).toString('base64') });
  const sys = systemCtx({ db: database.db, clock: systemClock, config }, 'test');
  const { organization, setupLink } = await createOrganization(sys, {
    name: 'Restart',
    ownerEmail: 'owner@restart.example',
  });
  return { database, orgId: organization.id, setupToken: new URL(setupLink!.url).hash.replace('#token=', '') };
}

/** The owner redeems the setup link and creates an API token, through the running server (the real flow). */
async function apiTokenFrom(base: string, setupToken: string): Promise<string> {
  const setup = await fetch(`${base}/api/v1/auth/setup-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: setupToken, password: 'correct horse battery staple' }),
  });
  assert.equal(setup.status, 200, await setup.clone().text());
  const cookie = (setup.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const { csrfToken } = (await setup.json()) as { csrfToken: string };
  const created = await fetch(`${base}/api/v1/me/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ name: 'load' }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  return ((await created.json()) as { token: string }).token;
}

describe('PostgreSQL restart, failover and disk full on a private server', { skip: runnable }, () => {
  let pgi: PostgresInstance;
  before(async () => {
    pgi = await startPostgresInstance();
  });
  after(() => pgi?.stop());

  test('pg_ctl restart (fast, then immediate) during a write load: in-flight requests fail cleanly with 503, the service continues without a restart, 0 acknowledged loss', async (t) => {
    await pgi.sql('postgres', 'create database restart');
    const { database, orgId, setupToken } = await seed(pgi.url('restart'));
    const masterKey = randomBytes(32).toString('base64');
    let server: ChildProcess | undefined;
    try {
      server = spawn(...palisadeCommand('serve', '--port', '0'), {
        env: {
          ...process.env,
          DATABASE_URL: pgi.url('restart'),
          PALISADE_MASTER_KEY: masterKey,
          PALISADE_AUDIT_STREAMS_ALLOW_HTTP: 'true',
          PALISADE_OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32',
          PALISADE_LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        server!.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /Palisade is listening on (http:\/\/[^ ]+) /.exec(out);
          if (m) resolve(m[1] as string);
        });
        server!.once('exit', (code) => reject(new Error(`server exited ${code}: ${out.slice(-2000)}`)));
      });
      const serverPid = server.pid;
      const token = await apiTokenFrom(base, setupToken);
      let n = 0;
      const write = async (): Promise<Outcome> => {
        const name = `dest ${++n}`;
        try {
          const res = await fetch(`${base}/api/v1/orgs/${orgId}/audit-streams`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ name, kind: 'webhook', url: `http://127.0.0.1:9/${n}` }),
            signal: AbortSignal.timeout(20_000),
          });
          const body = (await res.json()) as { stream?: { id: string }; error?: { code: string } };
          return {
            status: res.status,
            ...(body.error ? { code: body.error.code } : {}),
            ...(body.stream ? { id: body.stream.id } : {}),
          };
        } catch (err) {
          return { status: 0, code: (err as Error).message };
        }
      };
      // Four writers, as long as the restarts last and a little longer.
      const outcomes: Outcome[] = [];
      let stop = false;
      const writers = Array.from({ length: 4 }, async () => {
        while (!stop) outcomes.push(await write());
      });
      await new Promise((r) => setTimeout(r, 1_500));
      pgi.restart('fast');
      await new Promise((r) => setTimeout(r, 1_500));
      pgi.restart('immediate');
      await new Promise((r) => setTimeout(r, 3_000));
      stop = true;
      await Promise.all(writers);

      const acknowledged = outcomes.filter((o) => o.status === 201).map((o) => o.id as string);
      const failed = outcomes.filter((o) => o.status !== 201);
      t.diagnostic(
        `${outcomes.length} writes: ${acknowledged.length} acknowledged, ${failed.length} refused (${[...new Set(failed.map((f) => `${f.status} ${f.code}`))].join(', ')})`,
      );
      for (const f of failed) {
        assert.equal(f.status, 503, `a request in flight during the restart fails cleanly: ${JSON.stringify(f)}`);
        assert.equal(f.code, 'database_unavailable');
      }
      // The same process serves again: no restart of Palisade.
      assert.equal(server.exitCode, null);
      assert.equal(server.pid, serverPid);
      const afterwards = await Promise.all([write(), write(), write()]);
      assert.deepEqual(
        afterwards.map((o) => o.status),
        [201, 201, 201],
        'writes succeed after the restarts',
      );
      acknowledged.push(...afterwards.map((o) => o.id as string));
      const ready = (await (await fetch(`${base}/readyz`)).json()) as {
        status: string;
        checks: { database: { up: boolean } };
      };
      assert.equal(ready.checks.database.up, true);

      // Nothing acknowledged was lost; no change without its audit event and no audit event without its change.
      const rows = await database.db.selectFrom('audit_streams').select('id').where('org_id', '=', orgId).execute();
      const stored = new Set(rows.map((r) => r.id));
      for (const id of acknowledged) assert.ok(stored.has(id), `acknowledged ${id} is stored`);
      const created = await database.db
        .selectFrom('audit_events')
        .select('targets')
        .where('org_id', '=', orgId)
        .where('action', '=', 'stream.created')
        .execute();
      assert.deepEqual(
        new Set(created.map((e) => (JSON.parse(e.targets) as { id: string }[])[0]?.id)),
        stored,
        'each stored destination has exactly its audit event',
      );
      assert.equal(created.length, stored.size);
      const chain = await verifyChain(database.db, orgId);
      assert.equal(chain.ok, true, JSON.stringify(chain));
    } finally {
      server?.kill('SIGTERM');
      if (server && server.exitCode === null) await new Promise((r) => server!.once('exit', r));
      await database.close();
    }
  });

  test('a failover to a read-only server: writes answer 503 storage_unavailable (read_only), reads work; back on a writable server, writes resume', async () => {
    await pgi.sql('postgres', 'create database failover');
    const database = await openDatabase(pgi.url('failover'));
    await migrateToLatest(database);
    const app: TestApp = await createTestApp(
      { auditStreamsAllowHttp: true },
      { database: { database, url: pgi.url('failover'), cleanup: () => database.close() } },
    );
    try {
      const { orgId, owner } = await app.seedOrg('Failover', 'owner@failover.example');
      const mk = (name: string) =>
        owner.post(`/api/v1/orgs/${orgId}/audit-streams`, { name, kind: 'webhook', url: 'http://127.0.0.1:9/x' });
      assert.equal((await mk('before')).status, 201);
      // What a promoted-the-wrong-way failover looks like to Palisade: a server that accepts only reads.
      const dropSessions = `select pg_terminate_backend(pid) from pg_stat_activity where datname = 'failover' and pid <> pg_backend_pid()`;
      await pgi.sql('postgres', `alter database failover set default_transaction_read_only = on`);
      await pgi.sql('postgres', dropSessions);
      // The pool's connections were all just ended by the server: the very next request moves to a new
      // one (src/db/pg-driver.ts) and meets the real answer, not a dead connection.
      const refused = await mk('during');
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'storage_unavailable');
      assert.equal(refused.body.error.details.cause, 'read_only');
      assert.match(refused.body.error.message, /read-only.*PostgreSQL standby after a failover.*25006/);
      assert.equal((await owner.get(`/api/v1/orgs/${orgId}/audit-streams`)).status, 200, 'reads keep working');
      const ready = await app.anonymous().get('/readyz');
      assert.deepEqual(
        [ready.status, ready.body.status, ready.body.checks.storage.cause],
        [200, 'degraded', 'read_only'],
      );

      await pgi.sql('postgres', `alter database failover set default_transaction_read_only = off`);
      await pgi.sql('postgres', dropSessions);
      const resumed = await mk('after');
      assert.equal(resumed.status, 201, JSON.stringify(resumed.body));
      const names = (await database.db.selectFrom('audit_streams').select('name').execute()).map((r) => r.name).sort();
      assert.deepEqual(names, ['after', 'before'], 'nothing half-applied while read-only');
    } finally {
      await app.close();
    }
  });

  test('disk full under a PostgreSQL tablespace (a real tmpfs): 503 storage_unavailable (disk_full), reads work, writes resume when space returns', async () => {
    const mnt = mkdtempSync(join(tmpdir(), 'palisade-pgfull-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const space = join(mnt, 'space');
    mkdirSync(space);
    chownSync(space, uid, uid);
    let app: TestApp | undefined;
    try {
      await pgi.sql('postgres', `create tablespace smalldisk location '${space}'`);
      await pgi.sql('postgres', 'create database full_disk tablespace smalldisk');
      const database = await openDatabase(pgi.url('full_disk'));
      await migrateToLatest(database);
      app = await createTestApp(
        { auditStreamsAllowHttp: true },
        { database: { database, url: pgi.url('full_disk'), cleanup: () => database.close() } },
      );
      const { orgId, owner } = await app.seedOrg('Full', 'owner@pgfull.example');
      const acknowledged: string[] = [];
      let n = 0;
      const mk = () =>
        owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
          name: `dest ${++n}`,
          kind: 'webhook',
          url: 'http://127.0.0.1:9/x',
          ...(n % 2 ? {} : {}),
        });
      for (let i = 0; i < 10; i++) acknowledged.push((await mk()).body.stream.id);
      // Fill the tablespace's file system.
      const fd = openSync(join(mnt, 'filler'), 'w');
      try {
        for (;;) writeSync(fd, Buffer.alloc(64 * 1024, 1));
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        closeSync(fd);
      }
      let refused;
      for (let i = 0; i < 20_000 && !refused; i++) {
        const r = await mk();
        if (r.status === 201) acknowledged.push(r.body.stream.id);
        else refused = r;
      }
      assert.ok(refused, 'the full disk refused a write');
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'storage_unavailable');
      assert.equal(refused.body.error.details.cause, 'disk_full');
      assert.match(refused.body.error.message, /the disk holding the database is full.*53100/);
      assert.equal((await owner.get(`/api/v1/orgs/${orgId}/audit-streams`)).status, 200, 'reads keep working');
      rmSync(join(mnt, 'filler'));
      const resumed = await mk();
      assert.equal(resumed.status, 201, JSON.stringify(resumed.body));
      acknowledged.push(resumed.body.stream.id);
      const stored = new Set((await database.db.selectFrom('audit_streams').select('id').execute()).map((r) => r.id));
      for (const id of acknowledged) assert.ok(stored.has(id), `acknowledged ${id} is stored`);
      assert.equal((await verifyChain(database.db, orgId)).ok, true);
    } finally {
      await app?.close();
      await pgi.sql('postgres', 'drop database if exists full_disk with (force)').catch(() => undefined);
      await pgi.sql('postgres', 'drop tablespace if exists smalldisk').catch(() => undefined);
      execFileSync('umount', ['-l', mnt]);
      rmdirSync(mnt);
    }
  });
});
