import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { systemCtx } from '../../src/context.js';
import { checkInstallation } from '../../src/operations/backup.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createOrganization } from '../../src/membership/organizations.js';
import { Agent, TEST_PASSWORD, TEST_SMTP, type TestApp, createTestApp } from '../helpers/harness.js';

const run = promisify(execFile);

/**
 * Backups: `palisade backup` copies the SQLite database consistently while the server writes;
 * `palisade restore` puts it back after checking it; `palisade db check` proves a restored (or moved)
 * installation is whole: chains verify and data keys open. Real processes, real files.
 */
describe('backup, restore and db check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-backup-'));
  const dbFile = join(dir, 'live.db');
  const masterKey = randomBytes(32).toString('base64');
  const config = loadConfig(
    {},
    {
      databaseUrl: `sqlite:${dbFile}`,
      logLevel: 'silent',
      passwordScryptLogN: 10,
      publicUrl: 'http://palisade.test',
      masterKey,
      ...TEST_SMTP,
    },
  );
  const clock = new ManualClock(new Date());
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite:${dbFile}`,
    PALISADE_MASTER_KEY: masterKey,
    PALISADE_LOG_LEVEL: 'silent',
  };
  const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env });
  let live: Database;
  let owner: Agent;
  let orgId: string;
  let fileId: string;
  let app: Awaited<ReturnType<typeof buildApp>>;

  before(async () => {
    live = await openDatabase(config.databaseUrl);
    await migrateToLatest(live);
    app = await buildApp({ database: live, config, clock });
    const { organization, setupLink } = await createOrganization(systemCtx({ db: live.db, clock, config }, 'test'), {
      name: 'Acme',
      ownerEmail: 'owner@acme.test',
    });
    orgId = organization.id;
    owner = new Agent(app, 'owner@acme.test');
    await owner.post('/api/v1/auth/setup-password', {
      token: new URL(setupLink!.url).hash.slice(7),
      password: TEST_PASSWORD,
    });
    const fd = new FormData();
    fd.append('file', new Blob(['board minutes']), 'minutes.txt');
    const req = new Request('http://x/', { method: 'POST', body: fd });
    fileId = (
      await owner.request('POST', `/api/v1/orgs/${orgId}/files`, Buffer.from(await req.arrayBuffer()), {
        'content-type': req.headers.get('content-type') as string,
      })
    ).body.id;
  });
  after(async () => {
    await app.close();
    await live.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a backup taken while the server writes is consistent; restored, its chains verify and its encrypted content opens', async () => {
    // Writes go on in this process while another process takes the backup.
    let writing = true;
    let writes = 0;
    const load = (async () => {
      while (writing) {
        const r = await owner.post(`/api/v1/orgs/${orgId}/children`, { name: `Unit ${writes}` });
        assert.equal(r.status, 201);
        writes++;
      }
    })();
    const backupFile = join(dir, 'backups', 'acme.db');
    const out = await cli('backup', '--to', backupFile);
    writing = false;
    await load;
    assert.match(out.stdout, /Backed up \d+ pages .* Keep the master key with it/);
    assert.ok(writes > 0, 'the server kept writing during the backup');
    assert.ok(existsSync(backupFile) && !existsSync(`${backupFile}.partial`));
    await assert.rejects(
      cli('backup', '--to', backupFile),
      (err: { stderr: string }) => /backup_exists/.test(err.stderr),
      'a backup is never overwritten',
    );

    // Restore into a new location and run Palisade on it.
    const restoredFile = join(dir, 'restored.db');
    const restoreEnv = { ...env, DATABASE_URL: `sqlite:${restoredFile}` };
    const restored = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'restore', '--from', backupFile], {
      env: restoreEnv,
    });
    assert.match(restored.stdout, /(\d+) of \1 audit chains verify; (\d+) of \2 data keys open/);
    const again = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'restore', '--from', backupFile], {
      env: restoreEnv,
    }).catch((e: { stderr: string }) => e);
    assert.match((again as { stderr: string }).stderr, /restore_target_exists.*--force/);
    const copy = await openDatabase(`sqlite:${restoredFile}`);
    const restoredApp = await buildApp({
      database: copy,
      config: { ...config, databaseUrl: `sqlite:${restoredFile}` },
      clock,
    });
    try {
      const agent = new Agent(restoredApp, 'owner@acme.test');
      assert.equal(
        (await agent.post('/api/v1/auth/login', { email: 'owner@acme.test', password: TEST_PASSWORD })).status,
        200,
      );
      assert.equal((await agent.get(`/api/v1/orgs/${orgId}/files/${fileId}/content`)).raw.body, 'board minutes');
      assert.equal((await agent.get(`/api/v1/orgs/${orgId}/audit-events/verify`)).body.ok, true);
    } finally {
      await restoredApp.close();
      await copy.close();
    }
  });

  test('restore refuses a damaged or foreign file and replaces nothing', async () => {
    const junk = join(dir, 'junk.db');
    const other = await openDatabase(`sqlite:${junk}`);
    await other.db.schema.createTable('notes').addColumn('x', 'text').execute();
    await other.close();
    const target = join(dir, 'target.db');
    const res = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'restore', '--from', junk], {
      env: { ...env, DATABASE_URL: `sqlite:${target}` },
    }).catch((e: { stderr: string }) => e);
    assert.match((res as { stderr: string }).stderr, /backup_not_palisade/);
    assert.ok(!existsSync(target));
  });
});

describe('db check on the test dialect', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
    const a = await t.seedOrg('Acme', 'owner@acme.test');
    const fd = new FormData();
    fd.append('file', new Blob(['x']), 'x.txt');
    const req = new Request('http://x/', { method: 'POST', body: fd });
    await a.owner.request('POST', `/api/v1/orgs/${a.orgId}/files`, Buffer.from(await req.arrayBuffer()), {
      'content-type': req.headers.get('content-type') as string,
    });
  });
  after(() => t.close());

  test('a whole installation passes; a tampered event and a foreign master key are each named', async () => {
    const ok = await checkInstallation(t.db.database, t.config);
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.ok(ok.dataKeys.total >= 1 && ok.dataKeys.opened === ok.dataKeys.total);
    const foreign = await checkInstallation(t.db.database, {
      ...t.config,
      masterKey: randomBytes(32).toString('base64'),
    });
    assert.equal(foreign.ok, false);
    assert.equal(foreign.dataKeys.failed.length, ok.dataKeys.total);
    const victim = await t.db.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('org_id', '!=', 'system')
      .orderBy('seq')
      .executeTakeFirstOrThrow();
    await t.db.database.db
      .updateTable('audit_events')
      .set({ action: 'org.forged' })
      .where('id', '=', victim.id)
      .execute();
    const tampered = await checkInstallation(t.db.database, t.config);
    assert.equal(tampered.ok, false);
    assert.equal(tampered.chains.filter((c) => !c.ok).length, 1);
  });
});
