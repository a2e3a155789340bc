import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createDecipheriv } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { AddressInfo } from 'node:net';
import { recordAad } from '../../src/crypto/data-keys.js';
import { keyProviderFor } from '../../src/crypto/provider.js';
import { sqlitePathOf } from '../../src/db/connect.js';
import { purgeExpiredContent } from '../../src/workspace/retention.js';
import { PG_URL, TEST_DIALECT } from '../helpers/db.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';

const DAY = 86_400_000;

/** What an attacker holding the KEK and every copy of the database can try: AES-256-GCM with any key and associated data. */
function tryOpen(key: Buffer, blob: Buffer, aad: Buffer): Buffer | null {
  if (blob.length < 29) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12));
    d.setAAD(aad);
    d.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([d.update(blob.subarray(28)), d.final()]);
  } catch {
    return null;
  }
}

/** Base64 runs in raw bytes (neighbouring columns may run into them: callers slide windows over them). */
function base64Runs(raw: string): string[] {
  return [...new Set([...raw.matchAll(/[A-Za-z0-9+/=]{80,}/g)].map((m) => m[0]))];
}

interface Captured {
  orgId: string;
  table: string;
  recordId: string;
  ct: string;
  contentKeyId: string | null;
  keyVersion: number;
}

/**
 * Crypto-erasure, examined the way the forensic review did: marker content is written
 * through the workspace, a user deletion and the gateway; retention purges it; then the raw SQLite
 * file and WAL (or a pg_dump of PostgreSQL) are scanned, and everything found is attacked with the
 * KEK and every organization data key, which an attacker of the database host would also have.
 * A live control conversation is found and opened by the same scanner, so "nothing readable" is
 * not the scanner failing.
 */
describe(`retention and deletion erase content (forensic scan, ${TEST_DIALECT})`, () => {
  let t: TestApp;
  let up: ModelUpstream;
  let orgId: string;
  let alice: Agent;
  let bob: Agent;
  let carol: Agent;
  let carolId: string;
  let base: string;
  let gatewayKey: string;
  const db = () => t.db.database.db;

  before(async () => {
    up = await startModelUpstream();
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const seeded = await t.seedOrg('Acme', 'owner@acme.example');
    orgId = seeded.orgId;
    assert.equal(
      (
        await seeded.owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
          name: 'loop',
          kind: 'anthropic',
          baseUrl: up.url,
        })
      ).status,
      200,
    );
    assert.equal(
      (await seeded.owner.patch(`/api/v1/orgs/${orgId}/workspace/settings`, { retentionDays: 30 })).status,
      200,
    );
    alice = (await t.addMember(seeded.owner, orgId, 'alice@acme.example', 'member')).agent;
    bob = (await t.addMember(seeded.owner, orgId, 'bob@acme.example', 'member')).agent;
    carol = (await t.addMember(seeded.owner, orgId, 'carol@acme.example', 'member')).agent;
    carolId = (await carol.get('/api/v1/auth/session')).body.user.id;
    gatewayKey = (await alice.post(`/api/v1/orgs/${orgId}/gateway/keys`, { name: 'cli' })).body.key;
  });
  after(async () => {
    t.app.server.closeAllConnections();
    await t.close();
    await up.close();
  });

  async function captureAll(): Promise<Captured[]> {
    const out: Captured[] = [];
    for (const c of await db()
      .selectFrom('workspace_conversations')
      .selectAll()
      .where('org_id', '=', orgId)
      .execute()) {
      if (c.title_ct)
        out.push({
          orgId,
          table: 'workspace_conversations',
          recordId: c.id,
          ct: c.title_ct,
          contentKeyId: c.content_key_id,
          keyVersion: Number(c.key_version),
        });
    }
    for (const m of await db().selectFrom('workspace_messages').selectAll().where('org_id', '=', orgId).execute()) {
      out.push({
        orgId,
        table: 'workspace_messages',
        recordId: m.id,
        ct: m.content_ct,
        contentKeyId: m.content_key_id,
        keyVersion: Number(m.key_version),
      });
    }
    for (const f of await db().selectFrom('workspace_files').selectAll().where('org_id', '=', orgId).execute()) {
      out.push({
        orgId,
        table: 'workspace_files',
        recordId: f.id,
        ct: f.content_ct,
        contentKeyId: f.content_key_id,
        keyVersion: Number(f.key_version),
      });
      out.push({
        orgId,
        table: 'workspace_files.name',
        recordId: f.id,
        ct: f.name_ct,
        contentKeyId: f.content_key_id,
        keyVersion: Number(f.key_version),
      });
    }
    return out;
  }

  /** The raw bytes an attacker of the database host would take: the SQLite file, its WAL and shared memory; or a pg_dump. */
  function rawCopies(): string {
    if (TEST_DIALECT === 'postgres') {
      const schema = t.db.database.schema as string;
      return execFileSync('pg_dump', ['--no-owner', '-n', schema, PG_URL], {
        encoding: 'latin1',
        maxBuffer: 256 * 1024 * 1024,
      });
    }
    const path = sqlitePathOf(t.db.url) as string;
    return [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]
      .filter((p) => existsSync(p))
      .map((p) => readFileSync(p).toString('latin1'))
      .join('\n');
  }

  /**
   * Everything the attacker can read from the copies. Keys: every 80-character window of every
   * base64 run (a wrapped content key is exactly 80) is unwrapped with every data key for every
   * content key id. Records: every stored ciphertext found in the copies is opened with every data
   * key (as content was sealed before content keys) and every recovered content key.
   */
  async function attack(
    raw: string,
    knownRecords: Captured[],
    knownKeyIds: string[],
  ): Promise<{ recoveredKeys: string[]; found: string[]; opened: { recordId: string; text: string }[] }> {
    const provider = keyProviderFor(t.config);
    const dataKeys: { version: number; key: Buffer }[] = [];
    for (const r of await db().selectFrom('org_data_keys').selectAll().where('org_id', '=', orgId).execute()) {
      if (r.status === 'destroyed') continue;
      dataKeys.push({
        version: Number(r.version),
        key: await provider.unwrap(
          r.kek_id,
          Buffer.from(r.wrapped_key, 'base64'),
          Buffer.from(`palisade-dk|v1|${orgId}|${r.version}`),
        ),
      });
    }
    assert.ok(dataKeys.length > 0, 'the organization data key is still active: the attacker has it');
    const contentKeys = new Map<string, Buffer>();
    for (const run of base64Runs(raw)) {
      for (let i = 0; i + 80 <= run.length; i++) {
        const blob = Buffer.from(run.slice(i, i + 80), 'base64');
        if (blob.length !== 60) continue;
        for (const dk of dataKeys) {
          for (const id of knownKeyIds) {
            const k = tryOpen(dk.key, blob, Buffer.from(`palisade-ck|v1|${orgId}|${id}|${dk.version}`));
            if (k) contentKeys.set(id, k);
          }
        }
      }
    }
    const found = knownRecords.filter((rec) => raw.includes(rec.ct));
    const opened: { recordId: string; text: string }[] = [];
    for (const rec of found) {
      const blob = Buffer.from(rec.ct, 'base64');
      for (const dk of dataKeys) {
        const p = tryOpen(dk.key, blob, recordAad(rec, dk.version));
        if (p) opened.push({ recordId: rec.recordId, text: p.toString('utf8') });
      }
      for (const [id, ck] of contentKeys) {
        const p = tryOpen(ck, blob, Buffer.from(`palisade|ck1|${rec.orgId}|${rec.table}|${rec.recordId}|${id}`));
        if (p) opened.push({ recordId: rec.recordId, text: p.toString('utf8') });
      }
    }
    return { recoveredKeys: [...contentKeys.keys()], found: found.map((f) => f.recordId), opened };
  }

  test('after the purge and a deletion, no copy of the marker content can be found or decrypted; live content still can', async () => {
    // Content that retention will purge: a titled conversation, messages, a file, a gateway exchange.
    const conv = await alice.post(`/api/v1/orgs/${orgId}/conversations`, {
      title: 'MARKER-TITLE-7f3a Project Nightjar',
    });
    assert.equal(conv.status, 201);
    for (let i = 0; i < 4; i++) {
      const sent = await alice.post(`/api/v1/orgs/${orgId}/conversations/${conv.body.id}/messages`, {
        content: `MARKER-PROMPT-7f3a-${i} the Nightjar acquisition price is 41${i} million`,
        model: 'claude-test',
      });
      assert.equal(sent.status, 201, sent.raw.body);
    }
    const fd = new FormData();
    fd.append(
      'file',
      new Blob(['MARKER-FILE-7f3a board minutes: Nightjar closes in May'], { type: 'text/plain' }),
      'MARKER-FILENAME-7f3a.txt',
    );
    const req = new Request('http://x/', { method: 'POST', body: fd });
    const file = await alice.request('POST', `/api/v1/orgs/${orgId}/files`, Buffer.from(await req.arrayBuffer()), {
      'content-type': req.headers.get('content-type') as string,
    });
    assert.equal(file.status, 201, file.raw.body);
    const sdk = new Anthropic({ apiKey: gatewayKey, baseURL: base, maxRetries: 0 });
    await sdk.messages.create({
      model: 'claude-test',
      max_tokens: 50,
      messages: [{ role: 'user', content: 'MARKER-GATEWAY-7f3a what did Nightjar cost?' }],
    });
    await sdk.messages
      .stream({
        model: 'claude-test',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'MARKER-STREAM-7f3a stream the Nightjar terms' }],
      })
      .finalMessage();
    // A conversation its owner deletes right away: erased without waiting for retention.
    const gone = await bob.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'MARKER-DELETED-7f3a' });
    await bob.post(`/api/v1/orgs/${orgId}/conversations/${gone.body.id}/messages`, {
      content: 'MARKER-DELETED-7f3a prompt',
      model: 'claude-test',
    });
    const fd2 = new FormData();
    fd2.append(
      'file',
      new Blob(['MARKER-DELFILE-7f3a deleted right away'], { type: 'text/plain' }),
      'MARKER-DELFILE-7f3a.txt',
    );
    const req2 = new Request('http://x/', { method: 'POST', body: fd2 });
    const goneFile = await bob.request('POST', `/api/v1/orgs/${orgId}/files`, Buffer.from(await req2.arrayBuffer()), {
      'content-type': req2.headers.get('content-type') as string,
    });
    assert.equal(goneFile.status, 201);

    const doomed = await captureAll();
    const doomedKeys = (await db().selectFrom('content_keys').select('id').where('org_id', '=', orgId).execute()).map(
      (r) => r.id,
    );
    assert.equal(doomedKeys.length, 6, 'one key per conversation, file and gateway exchange');
    assert.ok(doomed.length >= 16);

    assert.equal((await bob.delete(`/api/v1/orgs/${orgId}/conversations/${gone.body.id}`)).status, 204);
    assert.equal((await bob.delete(`/api/v1/orgs/${orgId}/files/${goneFile.body.id}`)).status, 204);

    // 31 days later the control conversation is fresh, everything above is past retention.
    t.clock.advance(31 * DAY);
    [alice, bob] = [await t.login('alice@acme.example'), await t.login('bob@acme.example')];
    const control = await bob.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'CONTROL-TITLE-91c2' });
    assert.equal(
      (
        await bob.post(`/api/v1/orgs/${orgId}/conversations/${control.body.id}/messages`, {
          content: 'CONTROL-PROMPT-91c2 still here',
          model: 'claude-test',
        })
      ).status,
      201,
    );
    const live = (await captureAll()).filter((c) => !doomed.some((d) => d.recordId === c.recordId));
    const liveKeys = (await db().selectFrom('content_keys').select('id').where('org_id', '=', orgId).execute())
      .map((r) => r.id)
      .filter((id) => !doomedKeys.includes(id));

    const purged = await purgeExpiredContent(t.system);
    assert.equal(purged.conversations, 3);
    assert.equal(purged.files, 1);
    assert.equal(purged.keysDestroyed, 4, 'the deleted conversation and file took their keys with them already');

    const raw = rawCopies();
    for (const marker of ['MARKER-', 'Nightjar'])
      assert.ok(!raw.includes(marker), `no plaintext "${marker}" in the copies`);
    const { recoveredKeys, found, opened } = await attack(raw, [...doomed, ...live], [...doomedKeys, ...liveKeys]);
    const leftovers = doomed.filter((d) => found.includes(d.recordId));
    const doomedOpened = opened.filter((o) => doomed.some((d) => d.recordId === o.recordId));
    assert.deepEqual(doomedOpened, [], 'no purged or deleted record decrypts');
    assert.deepEqual(
      recoveredKeys.filter((k) => doomedKeys.includes(k)),
      [],
      'no destroyed content key can be recovered from the copies',
    );
    // On SQLite secure_delete and the WAL checkpoint leave not even the ciphertext; a pg_dump holds live rows only.
    assert.deepEqual(
      leftovers.map((l) => l.recordId),
      [],
    );
    assert.ok(
      live.every((l) => found.includes(l.recordId)),
      'live ciphertext is found in the copies',
    );
    // The control: the same scan finds the live conversation's key and opens its content.
    assert.ok(
      opened.some((o) => o.text.includes('CONTROL-PROMPT-91c2')),
      'the scanner does open live content',
    );
    assert.ok(recoveredKeys.some((k) => liveKeys.includes(k)));
    if (TEST_DIALECT === 'sqlite') {
      const wal = `${sqlitePathOf(t.db.url)}-wal`;
      assert.ok(
        !existsSync(wal) || readFileSync(wal).length === 0,
        'the WAL was checkpointed and truncated after the purge',
      );
    }
  });

  test('a legal hold keeps its content and keys through the purge; once lifted, the next purge erases them', async () => {
    carol = await t.login('carol@acme.example');
    const conv = await carol.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'HELD-TITLE' });
    await carol.post(`/api/v1/orgs/${orgId}/conversations/${conv.body.id}/messages`, {
      content: 'HELD-PROMPT',
      model: 'claude-test',
    });
    const owner = await t.login('owner@acme.example');
    const hold = await owner.post(`/api/v1/orgs/${orgId}/legal-holds`, {
      userId: carolId,
      reason: 'Litigation 2026-17',
    });
    assert.equal(hold.status, 201);
    // The member cannot delete held content either, and nothing changes.
    const refused = await carol.delete(`/api/v1/orgs/${orgId}/conversations/${conv.body.id}`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'legal_hold_active');
    assert.match(refused.body.error.message, /legal hold/);
    const denied = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('action', '=', 'conversation.deleted')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(denied.outcome, 'denied');
    assert.equal(JSON.parse(denied.metadata).reason, 'legal_hold_active');
    const held = await db()
      .selectFrom('workspace_conversations')
      .select('content_key_id')
      .where('id', '=', conv.body.id)
      .executeTakeFirstOrThrow();
    t.clock.advance(31 * DAY);
    await purgeExpiredContent(t.system);
    assert.ok(
      await db().selectFrom('workspace_conversations').select('id').where('id', '=', conv.body.id).executeTakeFirst(),
      'the held conversation survived the purge',
    );
    carol = await t.login('carol@acme.example');
    const read = await carol.get(`/api/v1/orgs/${orgId}/conversations/${conv.body.id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(
      read.body.messages.map((m: { content: string }) => m.content),
      ['HELD-PROMPT', 'echo: HELD-PROMPT'],
    );
    assert.ok(
      await db()
        .selectFrom('content_keys')
        .select('id')
        .where('id', '=', held.content_key_id as string)
        .executeTakeFirst(),
      'the key of held content is kept',
    );

    const owner2 = await t.login('owner@acme.example');
    assert.equal((await owner2.delete(`/api/v1/orgs/${orgId}/legal-holds/${hold.body.id}`)).status, 200);
    const second = await purgeExpiredContent(t.system);
    assert.equal(second.conversations, 1);
    assert.equal(second.keysDestroyed, 1);
    assert.equal(
      await db()
        .selectFrom('content_keys')
        .select('id')
        .where('id', '=', held.content_key_id as string)
        .executeTakeFirst(),
      undefined,
    );
    assert.ok(!rawCopies().includes('HELD-'));
  });
});
