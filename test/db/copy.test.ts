import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { systemCtx } from '../../src/context.js';
import { type Database, dropPostgresSchema, openDatabase } from '../../src/db/connect.js';
import { copyDatabase } from '../../src/operations/copy.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createOrganization } from '../../src/membership/organizations.js';
import { PG_URL } from '../helpers/db.js';
import { Agent, TEST_PASSWORD, TEST_SMTP } from '../helpers/harness.js';

const run = promisify(execFile);

/**
 * Moving an installation from SQLite to PostgreSQL (`palisade db copy`): everything arrives, the
 * audit chains verify on PostgreSQL, encrypted content opens with the same master key, and an
 * interrupted copy resumes without writing a row twice. Real SQLite file, real PostgreSQL schema.
 */
describe('palisade db copy: SQLite to PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-copy-'));
  const sqliteUrl = `sqlite:${join(dir, 'source.db')}`;
  const schemas: string[] = [];
  const clock = new ManualClock(new Date());
  const config = loadConfig(
    {},
    {
      databaseUrl: sqliteUrl,
      logLevel: 'silent',
      passwordScryptLogN: 10,
      publicUrl: 'http://palisade.test',
      masterKey: randomBytes(32).toString('base64'),
      ...TEST_SMTP,
    },
  );
  let source: Database;
  let orgId: string;
  let fileId: string;

  const indexNames = async (d: Database) =>
    (
      await sql<{
        indexname: string;
      }>`select indexname from pg_indexes where schemaname = current_schema() and tablename not like 'palisade_db_copy%' order by indexname`.execute(
        d.db,
      )
    ).rows.map((r) => r.indexname);
  const newSchema = async () => {
    const tag = `copy_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    schemas.push(tag);
    return { tag, db: await openDatabase(PG_URL, { pgSchema: tag }) };
  };

  before(async () => {
    source = await openDatabase(sqliteUrl);
    await migrateToLatest(source);
    const app = await buildApp({ database: source, config, clock });
    const sys = systemCtx({ db: source.db, clock, config }, 'test');
    const { organization, setupLink } = await createOrganization(sys, { name: 'Acme', ownerEmail: 'owner@acme.test' });
    orgId = organization.id;
    const owner = new Agent(app, 'owner@acme.test');
    await owner.post('/api/v1/auth/setup-password', {
      token: new URL(setupLink!.url).hash.slice(7),
      password: TEST_PASSWORD,
    });
    for (let i = 0; i < 30; i++)
      await owner
        .post(`/api/v1/orgs/${orgId}/children`, { name: `Unit ${i}` })
        .then((r) => assert.equal(r.status, 201));
    for (let i = 0; i < 20; i++)
      await owner
        .post(`/api/v1/orgs/${orgId}/members`, { email: `person${i}@example.test` })
        .then((r) => assert.equal(r.status, 201));
    const fd = new FormData();
    fd.append('file', new Blob(['the secret quarterly plan']), 'plan.txt');
    const req = new Request('http://x/', { method: 'POST', body: fd });
    const up = await owner.request('POST', `/api/v1/orgs/${orgId}/files`, Buffer.from(await req.arrayBuffer()), {
      'content-type': req.headers.get('content-type') as string,
    });
    assert.equal(up.status, 201, up.raw.body);
    fileId = up.body.id;
    await app.close();
  });
  after(async () => {
    await source.close();
    for (const s of schemas) await dropPostgresSchema(PG_URL, s);
    rmSync(dir, { recursive: true, force: true });
  });

  test('every row arrives, the audit chains verify on PostgreSQL, and encrypted content opens with the same master key (and only there)', async () => {
    const { db: target } = await newSchema();
    try {
      const seen: string[] = [];
      const r = await copyDatabase(source, target, { batchRows: 7, onProgress: (p) => seen.push(p.table) });
      assert.equal(r.resumed, false);
      assert.ok(r.rows > 100);
      for (const tp of r.tables) assert.equal(tp.copied, tp.total, `${tp.table}: all rows`);
      assert.ok(r.chains.length >= 2 && r.chains.every((c) => c.ok), JSON.stringify(r.chains));
      assert.ok(seen.indexOf('organizations') < seen.indexOf('memberships'), 'parents before children');
      // Palisade runs on the copy: sign in, read the encrypted file, verify the chain through the API.
      const app = await buildApp({ database: target, config: { ...config, databaseUrl: PG_URL }, clock });
      try {
        const owner = new Agent(app, 'owner@acme.test');
        assert.equal(
          (await owner.post('/api/v1/auth/login', { email: 'owner@acme.test', password: TEST_PASSWORD })).status,
          200,
        );
        assert.equal(
          (await owner.get(`/api/v1/orgs/${orgId}/files/${fileId}/content`)).raw.body,
          'the secret quarterly plan',
        );
        const verify = await owner.get(`/api/v1/orgs/${orgId}/audit-events/verify`);
        assert.equal(verify.body.ok, true, verify.raw.body);
        assert.equal((await owner.get(`/api/v1/orgs/${orgId}/members?limit=100`)).body.data.length, 21);
      } finally {
        await app.close();
      }
      // It arrived encrypted: the plaintext is nowhere in PostgreSQL.
      const dump = JSON.stringify(await target.db.selectFrom('workspace_files').selectAll().execute());
      assert.ok(dump.includes(fileId) && !dump.includes('secret quarterly plan'));
    } finally {
      await target.close();
    }
  });

  test('an interrupted copy resumes where it stopped and writes no row twice; a non-empty target is refused', async () => {
    const { db: target } = await newSchema();
    let targetIndexes: string[] = [];
    try {
      let batches = 0;
      await assert.rejects(
        copyDatabase(source, target, {
          batchRows: 5,
          onProgress: () => {
            if (++batches === 4) throw new Error('killed mid-copy');
          },
        }),
        /killed mid-copy/,
      );
      const r = await copyDatabase(source, target, { batchRows: 5 });
      assert.equal(r.resumed, true);
      for (const tp of r.tables) assert.equal(tp.copied, tp.total, `${tp.table}: ${tp.copied}/${tp.total}`);
      const events = await target.db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      const sourceEvents = await source.db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(events.n), Number(sourceEvents.n));
      assert.ok(r.chains.every((c) => c.ok));
      targetIndexes = await indexNames(target);
    } finally {
      await target.close();
    }
    const { db: occupied } = await newSchema();
    try {
      await migrateToLatest(occupied);
      // The indexes dropped for the load were all rebuilt, although the first run died midway.
      assert.deepEqual(targetIndexes, await indexNames(occupied));
      await occupied.db
        .insertInto('organizations')
        .values({
          id: 'org_other',
          parent_id: null,
          name: 'Someone else',
          billing_email: null,
          status: 'active',
          created_at: 'x',
          updated_at: 'x',
          deleted_at: null,
        })
        .execute();
      await assert.rejects(
        copyDatabase(source, occupied),
        (err: { code?: string }) => err.code === 'copy_target_not_empty',
      );
    } finally {
      await occupied.close();
    }
  });

  test('the CLI copies with progress and says to move the master key', async () => {
    const { tag } = await newSchema();
    const to = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${tag}`)}`;
    const out = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'db', 'copy', '--to', to], {
      env: { ...process.env, DATABASE_URL: sqliteUrl, PALISADE_LOG_LEVEL: 'silent' },
    });
    assert.match(out.stdout, /audit_events: \d+\/\d+/);
    assert.match(
      out.stdout,
      /Copied \d+ rows of \d+ tables in [\d.]+ s; (\d+) of \1 audit chains verify on PostgreSQL/,
    );
    assert.match(out.stdout, /SAME master key/);
  });
});
