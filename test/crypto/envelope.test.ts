import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { destroyOrgKeys, openFor, rotateDataKey, sealFor } from '../../src/crypto/data-keys.js';
import { rewrapJob } from '../../src/crypto/jobs.js';
import { KeyProviderError } from '../../src/crypto/kek.js';
import { LocalKeyring, loadLocalKeyring } from '../../src/crypto/local-keyring.js';
import { replaceKeyProvider } from '../../src/crypto/provider.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { createTestApp, type TestApp } from '../helpers/harness.js';

const key = () => randomBytes(32).toString('base64');

describe('local keyring configuration', () => {
  test('missing or malformed master keys stop start-up naming the variable', () => {
    const pg = loadConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db' });
    assert.throws(
      () => loadLocalKeyring(pg),
      (e: unknown) =>
        e instanceof KeyProviderError &&
        /PALISADE_MASTER_KEY/.test(e.message) &&
        /openssl rand -base64 32/.test(e.message),
    );
    assert.throws(
      () => new LocalKeyring(Buffer.alloc(16).toString('base64'), 'PALISADE_MASTER_KEY'),
      /16 bytes.*exactly 32/,
    );
    assert.throws(() => new LocalKeyring(`${key()},${key()}`, 'PALISADE_MASTER_KEY'), /id:base64/);
    assert.throws(
      () => loadLocalKeyring(loadConfig({ PALISADE_MASTER_KEY_FILE: '/nonexistent/master.key' })),
      (e: unknown) => e instanceof KeyProviderError && e.variable === 'PALISADE_MASTER_KEY_FILE',
    );
    const ring = new LocalKeyring(`k2:${key()},k1:${key()}`, 'PALISADE_MASTER_KEY');
    assert.equal(ring.currentKekId(), 'local:k2');
    assert.deepEqual(ring.knownKekIds(), ['local:k2', 'local:k1']);
  });

  test('the embedded quick start generates DATA_DIR/master.key once, private to its owner, and says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-key-'));
    try {
      const cfg = loadConfig({ DATABASE_URL: `sqlite:${join(dir, 'data', 'palisade.db')}` });
      const said: string[] = [];
      const a = loadLocalKeyring(cfg, (m) => said.push(m));
      const file = join(dir, 'data', 'master.key');
      assert.ok(existsSync(file));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').length, 32);
      assert.match(said[0] ?? '', /Generated a new master key at .*master\.key.*Back it up/);
      // Second start: the same key, nothing generated.
      loadLocalKeyring(cfg, (m) => said.push(m));
      assert.equal(said.length, 1);
      assert.equal(a.currentKekId(), 'local:1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('envelope encryption per organization', () => {
  let t: TestApp;
  let orgA: string;
  let orgB: string;
  before(async () => {
    t = await createTestApp();
    orgA = (await t.seedOrg('Alpha', 'owner@alpha.example')).orgId;
    orgB = (await t.seedOrg('Beta', 'owner@beta.example')).orgId;
  });
  after(() => t.close());
  const db = () => t.db.database.db;

  test('ciphertext is bound to organization, table, record and key version; tampering fails closed', async () => {
    const ref = { orgId: orgA, table: 'workspace_messages', recordId: 'msg_a' };
    const s = await sealFor(db(), t.config, t.clock.now(), ref, 'the quarterly numbers');
    assert.ok(!Buffer.from(s.ct, 'base64').toString('latin1').includes('quarterly'));
    const ok = await openFor(db(), t.config, ref, s.ct, s.keyVersion);
    assert.ok(ok.ok && ok.data.toString() === 'the quarterly numbers');

    const fails = async (r: typeof ref, ct: string, v: number) =>
      assert.rejects(
        openFor(db(), t.config, r, ct, v),
        (e: { code?: string }) => e.code === 'content_integrity_failed',
      );
    const flipped = Buffer.from(s.ct, 'base64');
    flipped[flipped.length - 1]! ^= 1;
    await fails(ref, flipped.toString('base64'), s.keyVersion);
    await fails({ ...ref, recordId: 'msg_other' }, s.ct, s.keyVersion);
    await fails({ ...ref, table: 'workspace_files' }, s.ct, s.keyVersion);
    // Moved to another organization: B has its own key (created on first use), and the AAD names A.
    await sealFor(db(), t.config, t.clock.now(), { orgId: orgB, table: 'x', recordId: 'y' }, 'b');
    await fails({ ...ref, orgId: orgB }, s.ct, s.keyVersion);
    // Relabelled with another key version.
    await rotateDataKey(db(), t.config, orgA, t.clock.now());
    await fails(ref, s.ct, s.keyVersion + 1);
    // A wrapped data key that was tampered with fails to unwrap.
    const row = await db().selectFrom('org_data_keys').selectAll().where('org_id', '=', orgB).executeTakeFirstOrThrow();
    const w = Buffer.from(row.wrapped_key, 'base64');
    w[20]! ^= 1;
    await db()
      .updateTable('org_data_keys')
      .set({ wrapped_key: w.toString('base64') })
      .where('id', '=', row.id)
      .execute();
    await assert.rejects(sealFor(db(), t.config, t.clock.now(), { orgId: orgB, table: 'x', recordId: 'z' }, 'b'));
  });

  test('data key rotation: new writes use the new version, old data stays readable', async () => {
    const ref1 = { orgId: orgA, table: 't', recordId: 'r1' };
    const before = await sealFor(db(), t.config, t.clock.now(), ref1, 'old');
    const { version } = await rotateDataKey(db(), t.config, orgA, t.clock.now());
    assert.equal(version, before.keyVersion + 1);
    const ref2 = { orgId: orgA, table: 't', recordId: 'r2' };
    const afterRot = await sealFor(db(), t.config, t.clock.now(), ref2, 'new');
    assert.equal(afterRot.keyVersion, version);
    const o1 = await openFor(db(), t.config, ref1, before.ct, before.keyVersion);
    assert.ok(o1.ok && o1.data.toString() === 'old');
  });

  test('master key rotation: the re-wrap job moves every data key to the new KEK; the old KEK can then be removed', async () => {
    const ref = { orgId: orgA, table: 't', recordId: 'kek' };
    const sealed = await sealFor(db(), t.config, t.clock.now(), ref, 'survives rotation');
    const oldSpec = t.config.masterKey;
    const newKey = key();
    await replaceKeyProvider(t.config, new LocalKeyring(`k2:${newKey},1:${oldSpec}`, 'PALISADE_MASTER_KEY'));
    const scheduler = createScheduler({ db: db(), clock: t.clock, config: t.config }, [rewrapJob()]);
    const first = await scheduler.runNow('crypto.rewrap_data_keys');
    assert.equal(first.status, 'succeeded');
    assert.ok(Number(first.summary?.rewrapped) >= 2);
    // Org B's key was tampered with in the first test: skipped and counted, not fatal.
    assert.equal(first.summary?.failed, 1);
    assert.equal(first.summary?.remaining, 1);
    const again = await scheduler.runNow('crypto.rewrap_data_keys');
    assert.equal(again.summary?.rewrapped, 0, 'idempotent');
    const kekIds = await db()
      .selectFrom('org_data_keys')
      .select('kek_id')
      .where('status', '!=', 'destroyed')
      .where('org_id', '=', orgA)
      .execute();
    assert.ok(kekIds.every((k) => k.kek_id === 'local:k2'));
    await replaceKeyProvider(t.config, new LocalKeyring(`k2:${newKey}`, 'PALISADE_MASTER_KEY'));
    const o = await openFor(db(), t.config, ref, sealed.ct, sealed.keyVersion);
    assert.ok(o.ok && o.data.toString() === 'survives rotation');
  });

  test("crypto-shredding makes an organization's content unreadable and says so", async () => {
    const ref = { orgId: orgA, table: 't', recordId: 'shred' };
    const sealed = await sealFor(db(), t.config, t.clock.now(), ref, 'to be shredded');
    const { destroyed } = await destroyOrgKeys(db(), orgA, t.clock.now(), 'test');
    assert.ok(destroyed >= 1);
    assert.deepEqual(await openFor(db(), t.config, ref, sealed.ct, sealed.keyVersion), {
      ok: false,
      reason: 'shredded',
    });
    const rows = await db().selectFrom('org_data_keys').select('wrapped_key').where('org_id', '=', orgA).execute();
    assert.ok(rows.every((r) => r.wrapped_key === ''));
    // New content after the shred gets a fresh key with a new version number.
    const fresh = await sealFor(db(), t.config, t.clock.now(), { ...ref, recordId: 'after' }, 'new life');
    assert.ok(fresh.keyVersion > sealed.keyVersion);
  });
});
