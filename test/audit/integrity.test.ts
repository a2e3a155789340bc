import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type SignedCheckpoint, rotateSigningKey } from '../../src/audit/checkpoints.js';
import { type AuditEvent, chainHash, hashedContent } from '../../src/audit/event.js';
import { recordAuditBatch } from '../../src/audit/record.js';
import { parseExport, verifyExport } from '../../src/audit/verify-file.js';
import { verifyChain } from '../../src/audit/verify.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { testAction } from '../helpers/audit-actions.js';

const run = promisify(execFile);
const DAY = 86_400_000;

describe('retention, signed checkpoints and offline verification', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    t = await createTestApp();
    dir = mkdtempSync(join(tmpdir(), 'palisade-integrity-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  const scheduler = () => createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config });
  const count = async (orgId: string) =>
    Number(
      (
        await t.db.database.db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('org_id', '=', orgId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const addEvents = async (orgId: string, n: number, action = 'test.happened') => {
    const ids = await t.db.database.db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        t.system,
        Array.from({ length: n }, (_, i) => ({ orgId, action: testAction(action), metadata: { i } })),
      ),
    );
    // Written outside a request: sealed into the chain before the test reads the tables.
    await t.sealAudit();
    return ids;
  };

  test('retention defaults to 30 days and accepts a number of days or "forever"; members cannot change it', async () => {
    const { orgId, owner } = await t.seedOrg('Keeper', 'owner@keeper.example');
    assert.deepEqual((await owner.get(`/api/v1/orgs/${orgId}/audit-settings`)).body, {
      retentionDays: 30,
      isDefault: true,
    });
    const set = await owner.request('PUT', `/api/v1/orgs/${orgId}/audit-settings`, { retentionDays: 'forever' });
    assert.equal(set.status, 200);
    assert.deepEqual((await owner.get(`/api/v1/orgs/${orgId}/audit-settings`)).body, {
      retentionDays: 'forever',
      isDefault: false,
    });
    assert.equal(
      (await owner.request('PUT', `/api/v1/orgs/${orgId}/audit-settings`, { retentionDays: 0 })).status,
      400,
    );
    assert.equal(
      (await owner.request('PUT', `/api/v1/orgs/${orgId}/audit-settings`, { retentionDays: 'never' })).status,
      400,
    );
    const changed = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=audit.retention_changed`);
    assert.deepEqual(changed.body.data[0].metadata, { from: 30, to: 'forever' });
    const { agent } = await t.addMember(owner, orgId, 'm@keeper.example', 'member');
    assert.equal(
      (await agent.request('PUT', `/api/v1/orgs/${orgId}/audit-settings`, { retentionDays: 5 })).status,
      403,
    );
  });

  test('the purge job deletes expired events in batches, anchors the chain, and the rest still verifies', async () => {
    const seeded = await t.seedOrg('Purged', 'owner@purged.example');
    const orgId = seeded.orgId;
    let owner = seeded.owner;
    const forever = await t.seedOrg('Forever', 'owner@forever.example');
    await forever.owner.request('PUT', `/api/v1/orgs/${forever.orgId}/audit-settings`, { retentionDays: 'forever' });
    await owner.request('PUT', `/api/v1/orgs/${orgId}/audit-settings`, { retentionDays: 2 });
    await addEvents(orgId, 120, 'test.old');
    const oldCount = await count(orgId);
    t.clock.advance(3 * DAY);
    await addEvents(orgId, 7, 'test.fresh');
    owner = await t.login('owner@purged.example');
    const foreverBefore = await count(forever.orgId);

    const r = await scheduler().runNow('audit.retention_purge');
    assert.equal(r.status, 'succeeded', r.error);
    assert.ok(Number(r.summary?.deleted) >= oldCount);
    // Only the 7 fresh events and the purge record remain.
    const left = await owner.get(`/api/v1/orgs/${orgId}/audit-events?order=asc&limit=200`);
    assert.equal(left.status, 200, JSON.stringify(left.body));
    assert.deepEqual(
      left.body.data.map((e: AuditEvent) => e.action),
      [...Array(7).fill('test.fresh'), 'auth.login_succeeded', 'audit.purged'],
    );
    assert.equal(left.body.data[8].metadata.deleted, oldCount);
    const v = await verifyChain(t.db.database.db, orgId);
    assert.equal(v.ok, true, JSON.stringify(v.firstFailure));
    assert.equal(v.firstSeq, oldCount + 1);
    assert.equal(v.eventsChecked, 9);
    assert.equal(await count(forever.orgId), foreverBefore, '"forever" keeps everything');
    // Idempotent.
    const again = await scheduler().runNow('audit.retention_purge');
    assert.equal(again.summary?.deleted, 0);

    // A rewritten anchor is caught.
    await t.db.database.db
      .updateTable('audit_anchors')
      .set({ prev_hash: 'f'.repeat(64) })
      .where('org_id', '=', orgId)
      .execute();
    const bad = await verifyChain(t.db.database.db, orgId);
    assert.equal(bad.ok, false);
    assert.equal(bad.firstFailure?.problem, 'anchor_invalid');
  });

  test('a small batch size purges in several transactions and leaves one anchor at the boundary', async () => {
    const { orgId } = await t.seedOrg('Batches', 'owner@batches.example');
    await addEvents(orgId, 53);
    t.clock.advance(31 * DAY);
    await addEvents(orgId, 2, 'test.kept');
    const { purgeOrg } = await import('../../src/audit/retention.js');
    const deleted = await purgeOrg(t.system, orgId, 10);
    assert.equal(deleted, 53 + 5);
    const cps = await t.db.database.db
      .selectFrom('audit_checkpoints')
      .select('seq')
      .where('org_id', '=', orgId)
      .where('kind', '=', 'purge')
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      cps.map((c) => Number(c.seq)),
      [10, 20, 30, 40, 50, 58],
    );
    assert.equal((await verifyChain(t.db.database.db, orgId)).ok, true);
    // An export of what is kept verifies offline from the signed purge anchor; dropping its first event does not.
    const owner = await t.login('owner@batches.example');
    const file = parseExport((await owner.get(`/api/v1/orgs/${orgId}/audit-events/export`)).raw.body);
    const cp = (await owner.get(`/api/v1/orgs/${orgId}/audit-checkpoints`)).body;
    assert.equal(file[0]!.seq, 59);
    assert.deepEqual(verifyExport(file, cp.checkpoints, cp.keys).problems, []);
    assert.deepEqual(
      verifyExport(file.slice(1), cp.checkpoints, cp.keys).problems.map((p) => p.kind),
      ['dropped'],
    );
  });

  test('events an active SIEM destination has not received yet are held back from the purge', async () => {
    const { orgId } = await t.seedOrg('Held', 'owner@held.example');
    await addEvents(orgId, 20);
    const head = await t.db.database.db
      .selectFrom('audit_chain_heads')
      .select('seq')
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    const at = t.clock.now().toISOString();
    await t.db.database.db
      .insertInto('audit_streams')
      .values({
        id: 'ast_held',
        org_id: orgId,
        name: 'down SIEM',
        kind: 'webhook',
        format: 'palisade',
        settings: '{}',
        secret: null,
        secret_hint: null,
        status: 'active',
        cursor_seq: Number(head.seq) - 10,
        failures: 3,
        next_attempt_at: null,
        last_success_at: null,
        last_error: null,
        last_error_at: null,
        lease_owner: null,
        lease_until: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
    t.clock.advance(40 * DAY);
    const { purgeOrg } = await import('../../src/audit/retention.js');
    assert.equal(await purgeOrg(t.system, orgId), Number(head.seq) - 10);
    const first = await t.db.database.db
      .selectFrom('audit_events')
      .select('seq')
      .where('org_id', '=', orgId)
      .orderBy('seq')
      .executeTakeFirstOrThrow();
    assert.equal(Number(first.seq), Number(head.seq) - 9);
    await t.db.database.db
      .updateTable('audit_streams')
      .set({ status: 'dead_letter' })
      .where('id', '=', 'ast_held')
      .execute();
    assert.ok((await purgeOrg(t.system, orgId)) >= 10, 'a dead-lettered destination does not hold retention');
    assert.equal((await verifyChain(t.db.database.db, orgId)).ok, true);
  });

  let orgId: string;
  let owner: Agent;
  let exported: AuditEvent[];
  let checkpoints: { checkpoints: SignedCheckpoint[]; keys: never[] };
  test('periodic checkpoints are signed with published Ed25519 keys that survive rotation', async () => {
    ({ orgId, owner } = await t.seedOrg('Signed', 'owner@signed.example'));
    await addEvents(orgId, 20);
    const first = await scheduler().runNow('audit.checkpoint');
    assert.equal(first.status, 'succeeded', first.error);
    assert.ok(Number(first.summary?.checkpoints) >= 1);
    const again = await scheduler().runNow('audit.checkpoint');
    assert.equal(again.summary?.checkpoints, 0, 'no new checkpoint when nothing changed');
    await rotateSigningKey({ db: t.db.database.db, clock: t.clock, config: t.config });
    await addEvents(orgId, 5);
    await scheduler().runNow('audit.checkpoint');

    const wk = await t.anonymous().get('/.well-known/palisade-audit-keys.json');
    assert.equal(wk.status, 200);
    assert.ok(wk.body.keys.length >= 2);
    assert.deepEqual(new Set(wk.body.keys.map((k: { status: string }) => k.status)), new Set(['active', 'retired']));
    for (const k of wk.body.keys) {
      assert.equal(k.crv, 'Ed25519');
      assert.equal(k.d, undefined, 'no private key material');
    }
    const res = await owner.get(`/api/v1/orgs/${orgId}/audit-checkpoints`);
    checkpoints = res.body;
    assert.equal(checkpoints.checkpoints.length, 2);
    assert.notEqual(checkpoints.checkpoints[0]!.payload.kid, checkpoints.checkpoints[1]!.payload.kid);
    assert.equal(checkpoints.checkpoints[1]!.payload.seq, checkpoints.checkpoints[1]!.payload.count);

    const file = await owner.get(`/api/v1/orgs/${orgId}/audit-events/export?format=ndjson`);
    exported = parseExport(file.raw.body);
    const ok = verifyExport(exported, checkpoints.checkpoints, wk.body.keys);
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.coveredBySignedCheckpoint, exported.length);
    // A forged signature is refused.
    const forged = structuredClone(checkpoints.checkpoints);
    forged[1]!.payload.seq = 3;
    assert.equal(verifyExport(exported, forged, wk.body.keys).problems[0]!.kind, 'invalid_checkpoint');
  });

  const kinds = (r: ReturnType<typeof verifyExport>) => r.problems.map((p) => `${p.kind}:${p.eventId ?? p.seq}`);
  const check = (events: AuditEvent[]) => verifyExport(events, checkpoints.checkpoints, checkpoints.keys);

  test('verify names an edited event', () => {
    const events = structuredClone(exported);
    events[6]!.metadata = { i: 999 };
    assert.deepEqual(kinds(check(events)), [`edited:${events[6]!.id}`]);
  });

  test('verify names an edited event whose hash was recomputed', () => {
    const events = structuredClone(exported);
    const e = events[6]!;
    e.action = 'test.innocent';
    e.hash = chainHash(e.prevHash, hashedContent(e));
    const r = check(events);
    assert.equal(r.ok, false);
    assert.ok(kinds(r).includes(`edited:${e.id}`), JSON.stringify(r.problems));
  });

  test('verify names dropped events', () => {
    const events = structuredClone(exported);
    const gone = events.splice(8, 2);
    const r = check(events);
    assert.deepEqual(kinds(r), [`dropped:${events[8]!.id}`]);
    assert.match(r.problems[0]!.explanation, new RegExp(`seq ${gone[0]!.seq}–${gone[1]!.seq}`));
  });

  test('verify names reordered events', () => {
    const events = structuredClone(exported);
    [events[10], events[11]] = [events[11]!, events[10]!];
    assert.deepEqual(kinds(check(events)), [`reordered:${exported[11]!.id}`]);
  });

  test('verify names an inserted event, even a well-formed one', () => {
    const events = structuredClone(exported);
    const fake: AuditEvent = {
      ...structuredClone(events[4]!),
      id: 'evt_forged',
      action: 'member.role_changed',
      metadata: { to: 'primary_owner' },
    };
    fake.hash = chainHash(fake.prevHash, hashedContent(fake));
    events.splice(5, 0, fake);
    assert.deepEqual(kinds(check(events)), ['inserted:evt_forged']);
  });

  test('verify names a cut tail and a rewritten history against the signed checkpoints', () => {
    const cut = structuredClone(exported).slice(0, -3);
    assert.deepEqual(
      check(cut).problems.map((p) => p.kind),
      ['truncated'],
    );
    // Rewriting everything consistently fools the chain but not the signature.
    const rewritten = structuredClone(exported);
    let prev = rewritten[0]!.prevHash;
    for (const e of rewritten) {
      e.prevHash = prev;
      if (e.seq === 3) e.metadata = { rewritten: true };
      e.hash = chainHash(prev, hashedContent(e));
      prev = e.hash;
    }
    const r = check(rewritten);
    assert.ok(
      r.problems.some((p) => p.kind === 'checkpoint_mismatch'),
      JSON.stringify(r.problems),
    );
  });

  test('palisade audit verify --file checks a CSV export offline and names the tampered event', async () => {
    const csv = await owner.get(`/api/v1/orgs/${orgId}/audit-events/export?format=csv`);
    const cpFile = join(dir, 'checkpoints.json');
    writeFileSync(cpFile, JSON.stringify(checkpoints));
    const good = join(dir, 'good.csv');
    writeFileSync(good, csv.raw.body);
    const cli = async (...args: string[]) => {
      try {
        const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'audit', 'verify', ...args], {
          env: { ...process.env, PALISADE_LOG_LEVEL: 'silent' },
        });
        return { code: 0, stdout };
      } catch (err) {
        const e = err as { code: number; stdout: string };
        return { code: e.code, stdout: e.stdout };
      }
    };
    const ok = await cli('--file', good, '--checkpoints', cpFile);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /^OK: all \d+ events/);
    const victim = exported.find((e) => e.action === 'test.happened' && e.metadata.i === 4)!;
    const tampered = join(dir, 'tampered.csv');
    writeFileSync(tampered, csv.raw.body.replace(`"{""i"":4}"`, `"{""i"":40}"`));
    const bad = await cli('--file', tampered, '--checkpoints', cpFile);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, new RegExp(`EDITED ${victim.id}`));
    // A deleted row and two swapped rows, as someone would do in a spreadsheet.
    const [header, ...rows] = csv.raw.body.trimEnd().split('\n');
    const i = rows.findIndex((r: string) => r.includes(victim.id));
    const dropped = join(dir, 'dropped.csv');
    writeFileSync(dropped, [header, ...rows.slice(0, i), ...rows.slice(i + 1)].join('\n') + '\n');
    const gone = await cli('--file', dropped, '--checkpoints', cpFile);
    assert.equal(gone.code, 1);
    const after = exported.find((e) => e.seq === victim.seq + 1)!;
    assert.match(
      gone.stdout,
      new RegExp(`DROPPED before ${after.id} \\(record ${i + 1}\\): Event\\(s\\) with seq ${victim.seq} are missing`),
    );
    const swapped = [...rows];
    [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
    const reordered = join(dir, 'reordered.csv');
    writeFileSync(reordered, [header, ...swapped].join('\n') + '\n');
    const moved = await cli('--file', reordered, '--checkpoints', cpFile);
    assert.equal(moved.code, 1);
    assert.match(moved.stdout, new RegExp(`REORDERED ${after.id} \\(record ${i + 1}\\)`));
  });

  test('with PALISADE_AUDIT_SIGNING_KEY_FILE the private key never enters the database, and changing the file rotates', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const keyFile = (name: string) => {
      const path = join(dir, name);
      writeFileSync(
        path,
        generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      );
      return path;
    };
    const first = keyFile('k1.pem');
    const t2 = await createTestApp({ auditSigningKeyFile: first });
    try {
      const { orgId: o, owner: own } = await t2.seedOrg('FileKey', 'owner@filekey.example');
      const run1 = await createScheduler({ db: t2.db.database.db, clock: t2.clock, config: t2.config }).runNow(
        'audit.checkpoint',
      );
      assert.equal(run1.status, 'succeeded', run1.error);
      const rows = await t2.db.database.db.selectFrom('audit_signing_keys').selectAll().execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.private_pkcs8, '', 'only the public key is stored');
      assert.match(rows[0]!.kid, /^ack_file_[0-9a-f]{16}$/);
      await own.post(`/api/v1/orgs/${o}/members`, { email: 'x@filekey.example' });
      const t3Config = { ...t2.config, auditSigningKeyFile: keyFile('k2.pem') };
      const run2 = await createScheduler({ db: t2.db.database.db, clock: t2.clock, config: t3Config }).runNow(
        'audit.checkpoint',
      );
      assert.equal(run2.status, 'succeeded', run2.error);
      const keys = (await t2.anonymous().get('/.well-known/palisade-audit-keys.json')).body.keys;
      assert.deepEqual(keys.map((k: { status: string }) => k.status).sort(), ['active', 'retired']);
      const cps = (await own.get(`/api/v1/orgs/${o}/audit-checkpoints`)).body;
      assert.equal(cps.checkpoints.length, 2);
      const file = parseExport((await own.get(`/api/v1/orgs/${o}/audit-events/export`)).raw.body);
      assert.deepEqual(verifyExport(file, cps.checkpoints, keys).problems, []);
    } finally {
      await t2.close();
    }
  });
});
