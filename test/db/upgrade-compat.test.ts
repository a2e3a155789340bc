/**
 * Rolling upgrades (issue 19): while instances of the previous release still serve, a newer one
 * migrates the shared database. Migrations are therefore expand-only within a release (add tables,
 * columns with defaults, indexes; never drop, rename or tighten what the previous release uses), and
 * this file proves it the direct way: the PREVIOUS RELEASE's own tests run against the NEW schema.
 *
 * The previous release is read from git (test/db/previous-release.txt names its commit); its `src`
 * and `test` are unpacked into a temporary folder, its migration list is replaced by this release's
 * (so every database its tests open is migrated to the new schema), and a cross-section of its test
 * files runs there, on the dialect of this run.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { MIGRATION_NAMES, migrateToLatest, migrationsFromANewerRelease } from '../../src/db/migrate.js';
import { TEST_DIALECT, openTestDatabase } from '../helpers/db.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const previous = readFileSync(join(root, 'test/db/previous-release.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .find((l) => /^[0-9a-f]{40}$/.test(l));

/**
 * A cross-section of the previous release's suite: organizations and roles, sign-in, SCIM as Okta
 * drives it, the audit chain, domains, the workspace and the gateway. Tests of migrations themselves
 * and tests that start the CLI are left out (they exercise the release's own build, not the schema).
 */
const PREVIOUS_TESTS = [
  'test/orgs/roles.test.ts',
  'test/auth/auth.test.ts',
  'test/scim/okta.test.ts',
  'test/audit/chain.test.ts',
  'test/domains/lifecycle.test.ts',
  'test/workspace/workspace.test.ts',
  'test/gateway/gateway.test.ts',
];

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, out }));
  });
}

describe('upgrades: the previous release on the new schema', () => {
  test('test/db/previous-release.txt names a commit', () => {
    assert.ok(previous, 'test/db/previous-release.txt must hold the previous release commit (40 hex digits)');
  });

  // A shallow clone lacks the previous release: then this check cannot run, and says so in the
  // test report (skipped, with the reason) instead of passing; `git fetch --unshallow` enables it.
  const available =
    previous !== undefined &&
    (() => {
      try {
        execFileSync('git', ['cat-file', '-e', `${previous}^{commit}`], { cwd: root, stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
  test(
    'the previous release passes its own tests against this release’s schema',
    {
      timeout: 900_000,
      skip: available
        ? false
        : `the previous release ${previous ?? '(none named)'} is not in this clone's history (a shallow clone?): git fetch --unshallow`,
    },
    async () => {
      assert.ok(previous);
      const dir = mkdtempSync(join(tmpdir(), 'palisade-previous-'));
      try {
        const tar = execFileSync(
          'git',
          ['archive', '--format=tar', previous, 'src', 'test', 'package.json', 'tsconfig.json'],
          {
            cwd: root,
            maxBuffer: 512 * 1024 * 1024,
          },
        );
        execFileSync('tar', ['-x', '-C', dir], { input: tar });
        // This release's migrations replace the previous release's list: its tests now open databases
        // with the new schema, which is what its still-running instances meet during the upgrade.
        rmSync(join(dir, 'src/db/migrations'), { recursive: true, force: true });
        cpSync(join(root, 'src/db/migrations'), join(dir, 'src/db/migrations'), { recursive: true });
        cpSync(join(root, 'src/db/migrate.ts'), join(dir, 'src/db/migrate.ts'));
        symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
        const present = PREVIOUS_TESTS.filter((f) => {
          try {
            execFileSync('git', ['cat-file', '-e', `${previous}:${f}`], { cwd: root, stdio: 'ignore' });
            return true;
          } catch {
            return false;
          }
        });
        assert.ok(present.length >= 5, `the previous release has only ${present.length} of the chosen test files`);
        const env: NodeJS.ProcessEnv = { ...process.env, PALISADE_TEST_DB: TEST_DIALECT, PALISADE_TEST_LOG_FILE: '' };
        delete env.NODE_TEST_CONTEXT; // run as a test runner of its own, not as a child of this one
        const { code, out } = await run(
          process.execPath,
          ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...present],
          dir,
          env,
        );
        // The TAP summary at the end: "# pass N", "# fail N".
        const count = (name: string) =>
          Number([...out.matchAll(new RegExp(`^# ${name} (\\d+)$`, 'gm'))].pop()?.[1] ?? NaN);
        const pass = count('pass');
        const fail = count('fail');
        assert.equal(
          code,
          0,
          `the previous release failed on the new schema:\n${out
            .split('\n')
            .filter((l) => /not ok|Error|expected|actual/.test(l))
            .slice(0, 40)
            .join('\n')}`,
        );
        assert.equal(fail, 0);
        assert.ok(pass >= 20, `only ${pass} tests of the previous release ran`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test('this release starts on a database a newer release has migrated, and refuses one migrated out of order', async () => {
    const t = await openTestDatabase();
    try {
      const table = t.database.schema
        ? sql.table(`${t.database.schema}.kysely_migration`)
        : sql.table('kysely_migration');
      await sql`insert into ${table} (name, timestamp) values (${'9999_from_a_newer_release'}, ${new Date().toISOString()})`.execute(
        t.database.db,
      );
      assert.deepEqual(await migrationsFromANewerRelease(t.database), ['9999_from_a_newer_release']);
      const logged: string[] = [];
      const r = await migrateToLatest(t.database, { log: (m) => logged.push(m) });
      assert.deepEqual(r, { applied: [], newerSchema: ['9999_from_a_newer_release'] });
      assert.match(logged.join('\n'), /newer Palisade release .*rolling upgrade/);
      // A database with the newer release's migration but without one of this release's: not an
      // upgrade in order. Refused, naming both, rather than run on a schema nobody tested.
      const last = MIGRATION_NAMES[MIGRATION_NAMES.length - 1]!;
      await sql`delete from ${table} where name = ${last}`.execute(t.database.db);
      await assert.rejects(migrateToLatest(t.database), (err: Error) => {
        assert.match(err.message, /9999_from_a_newer_release/);
        assert.ok(err.message.includes(last), err.message);
        return true;
      });
    } finally {
      await t.cleanup();
    }
  });
});
