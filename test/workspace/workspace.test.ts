import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { retentionPurgeJob } from '../../src/workspace/jobs.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';

const DAY = 86_400_000;
// The smallest valid PNG: its signature is what file-type sniffs.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

async function multipart(
  file: Buffer,
  name: string,
  type: string,
): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const fd = new FormData();
  fd.append('file', new Blob([new Uint8Array(file)], { type }), name);
  const req = new Request('http://x/', { method: 'POST', body: fd });
  return {
    payload: Buffer.from(await req.arrayBuffer()),
    headers: { 'content-type': req.headers.get('content-type') as string },
  };
}

describe('protected workspace', () => {
  let t: TestApp;
  let up: ModelUpstream;
  let orgId: string;
  let owner: Agent;
  let alice: Agent;
  let aliceId: string;
  let bob: Agent;
  const db = () => t.db.database.db;
  const upload = async (who: Agent, org: string, file: Buffer, name: string, type = 'text/plain') => {
    const m = await multipart(file, name, type);
    return who.request('POST', `/api/v1/orgs/${org}/files`, m.payload, m.headers);
  };
  const lastAudit = async (action: string) => {
    const e = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('action', '=', action)
      .orderBy('seq', 'desc')
      .executeTakeFirst();
    return e ? { ...e, meta: JSON.parse(e.metadata) as Record<string, unknown> } : undefined;
  };
  // Sessions expire when the clock jumps days ahead: sign everyone in again.
  const relogin = async () => {
    owner = await t.login('owner@acme.example');
    alice = await t.login('alice@acme.example');
    bob = await t.login('bob@acme.example');
  };
  before(async () => {
    up = await startModelUpstream();
    t = await createTestApp({ uploadMaxBytes: 4096 });
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    alice = (await t.addMember(owner, orgId, 'alice@acme.example', 'member')).agent;
    bob = (await t.addMember(owner, orgId, 'bob@acme.example', 'member')).agent;
    aliceId = (await alice.get('/api/v1/auth/session')).body.user.id;
    assert.equal(
      (
        await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
          name: 'loop',
          kind: 'anthropic',
          baseUrl: up.url,
        })
      ).status,
      200,
    );
  });
  after(async () => {
    await t.close();
    await up.close();
  });

  test('conversations: create, send, list, read, rename, delete; only the owner sees them; content encrypted and never audited', async () => {
    const c = await alice.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'Merger plans' });
    assert.equal(c.status, 201);
    assert.equal(c.body.title, 'Merger plans');
    const sent = await alice.post(`/api/v1/orgs/${orgId}/conversations/${c.body.id}/messages`, {
      content: 'Draft the acquisition memo',
      model: 'claude-test',
    });
    assert.equal(sent.status, 201, sent.raw.body);
    assert.equal(sent.body.messages[1].content, 'echo: Draft the acquisition memo');
    assert.equal(up.seen.at(-1)!.headers['palisade-no-training'], 'true');
    const read = await alice.get(`/api/v1/orgs/${orgId}/conversations/${c.body.id}`);
    assert.deepEqual(
      read.body.messages.map((m: { role: string }) => m.role),
      ['user', 'assistant'],
    );
    assert.equal(read.body.messages[0].content, 'Draft the acquisition memo');
    // Bob (same org) and the owner see a 404, and Bob's list is empty.
    assert.equal((await bob.get(`/api/v1/orgs/${orgId}/conversations/${c.body.id}`)).status, 404);
    assert.equal((await bob.patch(`/api/v1/orgs/${orgId}/conversations/${c.body.id}`, { title: 'x' })).status, 404);
    assert.equal((await bob.delete(`/api/v1/orgs/${orgId}/conversations/${c.body.id}`)).status, 404);
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}/conversations/${c.body.id}`)).status, 404);
    assert.equal((await bob.get(`/api/v1/orgs/${orgId}/conversations`)).body.data.length, 0);
    const renamed = await alice.patch(`/api/v1/orgs/${orgId}/conversations/${c.body.id}`, { title: 'Renamed' });
    assert.equal(renamed.body.title, 'Renamed');
    // Nothing readable at rest, nothing in the audit log.
    const rows = await db()
      .selectFrom('workspace_messages')
      .selectAll()
      .where('conversation_id', '=', c.body.id)
      .execute();
    assert.equal(rows.length, 2);
    for (const r of rows) assert.ok(!Buffer.from(r.content_ct, 'base64').toString('latin1').includes('acquisition'));
    const conv = await db()
      .selectFrom('workspace_conversations')
      .selectAll()
      .where('id', '=', c.body.id)
      .executeTakeFirstOrThrow();
    assert.ok(!JSON.stringify(conv).includes('Renamed'));
    const ev = await lastAudit('conversation.message_sent');
    assert.equal(ev?.meta.model, 'claude-test');
    assert.equal(ev?.meta.inputTokens, 11);
    assert.equal(ev?.meta.promptBytes, Buffer.byteLength('Draft the acquisition memo'));
    const all = await db().selectFrom('audit_events').selectAll().where('org_id', '=', orgId).execute();
    for (const e of all) assert.ok(!/acquisition|Merger|Renamed|echo:/.test(JSON.stringify(e)), e.action);
    const del = await alice.delete(`/api/v1/orgs/${orgId}/conversations/${c.body.id}`);
    assert.equal(del.status, 204);
    assert.equal(
      (await db().selectFrom('workspace_messages').selectAll().where('conversation_id', '=', c.body.id).execute())
        .length,
      0,
    );
  });

  test('files: streamed upload with a size limit, content type sniffed from the bytes, owner-only download', async () => {
    const png = await upload(alice, orgId, PNG, 'innocent.txt', 'text/plain');
    assert.equal(png.status, 201, png.raw.body);
    assert.equal(png.body.contentType, 'image/png', 'sniffed, not the declared text/plain');
    assert.equal(png.body.declaredContentType, 'text/plain');
    const txt = await upload(alice, orgId, Buffer.from('quarterly numbers: 42'), 'q.txt');
    assert.equal(txt.body.contentType, 'text/plain');
    const bin = await upload(alice, orgId, Buffer.from([0x01, 0x02, 0x03, 0xc3, 0x28]), 'blob', 'image/png');
    assert.equal(bin.body.contentType, 'application/octet-stream');
    const big = await upload(alice, orgId, Buffer.alloc(5000, 1), 'big.bin');
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'file_too_large');
    assert.equal((await alice.post(`/api/v1/orgs/${orgId}/files`, { not: 'multipart' })).status, 415);
    const dl = await alice.get(`/api/v1/orgs/${orgId}/files/${txt.body.id}/content`);
    assert.equal(dl.status, 200);
    assert.equal(dl.raw.body, 'quarterly numbers: 42');
    assert.equal(dl.headers['content-disposition'], 'attachment');
    assert.equal((await bob.get(`/api/v1/orgs/${orgId}/files/${txt.body.id}/content`)).status, 404);
    assert.equal((await bob.get(`/api/v1/orgs/${orgId}/files/${txt.body.id}`)).status, 404);
    assert.equal((await bob.get(`/api/v1/orgs/${orgId}/files`)).body.data.length, 0);
    assert.equal((await alice.get(`/api/v1/orgs/${orgId}/files`)).body.data.length, 3);
    const row = await db()
      .selectFrom('workspace_files')
      .selectAll()
      .where('id', '=', txt.body.id)
      .executeTakeFirstOrThrow();
    assert.ok(!Buffer.from(row.content_ct, 'base64').toString('latin1').includes('quarterly'));
    const ev = await lastAudit('file.uploaded');
    assert.equal(ev?.meta.sizeBytes, 5);
    assert.ok(!JSON.stringify(ev).includes('q.txt') && !JSON.stringify(ev).includes('quarterly'));
    assert.equal((await alice.delete(`/api/v1/orgs/${orgId}/files/${bin.body.id}`)).status, 204);
  });

  test('retention purge with a controllable clock: batches, counts in the audit log, idempotent, legal holds suspend it', async () => {
    const scheduler = createScheduler({ db: db(), clock: t.clock, config: t.config }, [retentionPurgeJob()]);
    const bobConv = (await bob.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'bob' })).body.id;
    await bob.post(`/api/v1/orgs/${orgId}/conversations/${bobConv}/messages`, { content: 'hello' });
    const aliceConv = (await alice.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'alice' })).body.id;
    await alice.post(`/api/v1/orgs/${orgId}/conversations/${aliceConv}/messages`, { content: 'hi' });
    // Default 90 days: nothing expires after 30.
    t.clock.advance(30 * DAY);
    await relogin();
    assert.equal((await scheduler.runNow('workspace.retention_purge')).summary?.conversations, 0);
    // Shortening to 7 days first says how much will go, then needs confirmation.
    const preview = await owner.post(`/api/v1/orgs/${orgId}/workspace/retention-preview`, { retentionDays: 7 });
    assert.ok(preview.body.conversations >= 2);
    assert.equal(
      (await alice.post(`/api/v1/orgs/${orgId}/workspace/retention-preview`, { retentionDays: 7 })).status,
      403,
    );
    const refused = await owner.patch(`/api/v1/orgs/${orgId}/workspace/settings`, { retentionDays: 7 });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'retention_change_needs_confirmation');
    assert.equal(refused.body.error.details.conversations, preview.body.conversations);
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}/workspace/settings`)).body.retentionDays, 90, 'nothing saved');
    // A legal hold on Alice keeps her content.
    const hold = await owner.post(`/api/v1/orgs/${orgId}/legal-holds`, { userId: aliceId, reason: 'Case 2026-17' });
    assert.equal(hold.status, 201);
    const saved = await owner.patch(`/api/v1/orgs/${orgId}/workspace/settings`, { retentionDays: 7, confirm: true });
    assert.equal(saved.status, 200);
    assert.equal(saved.body.retentionDays, 7);
    const run = await scheduler.runNow('workspace.retention_purge');
    assert.equal(run.status, 'succeeded');
    assert.ok(Number(run.summary?.conversations) >= 1);
    assert.equal((await bob.get(`/api/v1/orgs/${orgId}/conversations/${bobConv}`)).status, 404);
    assert.equal((await alice.get(`/api/v1/orgs/${orgId}/conversations/${aliceConv}`)).status, 200, 'held');
    assert.equal((await alice.get(`/api/v1/orgs/${orgId}/files`)).body.data.length, 2, 'held files kept');
    const purged = await lastAudit('retention.purged');
    assert.equal(purged?.meta.usersOnHold, 1);
    assert.ok(Number(purged?.meta.messages) >= 2);
    assert.equal((await scheduler.runNow('workspace.retention_purge')).summary?.conversations, 0, 'idempotent');
    // Lifting the hold (audited) lets the next run delete.
    assert.equal(
      (await owner.delete(`/api/v1/orgs/${orgId}/legal-holds/${hold.body.id}`)).body.liftedAt !== null,
      true,
    );
    assert.ok(await lastAudit('legal_hold.placed'));
    assert.ok(await lastAudit('legal_hold.lifted'));
    const orgHold = await owner.post(`/api/v1/orgs/${orgId}/legal-holds`, { reason: 'Regulator' });
    assert.equal((await scheduler.runNow('workspace.retention_purge')).summary?.conversations, 0, 'org-wide hold');
    await owner.delete(`/api/v1/orgs/${orgId}/legal-holds/${orgHold.body.id}`);
    const last = await scheduler.runNow('workspace.retention_purge');
    assert.ok(Number(last.summary?.conversations) >= 1);
    assert.ok(Number(last.summary?.files) >= 2);
    assert.equal((await alice.get(`/api/v1/orgs/${orgId}/conversations/${aliceConv}`)).status, 404);
  });

  test('child organizations inherit the parent retention unless they override it', async () => {
    const child = (await owner.post(`/api/v1/orgs/${orgId}/children`, { name: 'EU' })).body.id;
    const s = await owner.get(`/api/v1/orgs/${child}/workspace/settings`);
    assert.equal(s.body.retentionDays, 7);
    assert.equal(s.body.retentionSource.kind, 'inherited');
    assert.equal(s.body.retentionSource.orgId, orgId);
    const o = await owner.patch(`/api/v1/orgs/${child}/workspace/settings`, { retentionDays: 365 });
    assert.equal(o.body.retentionDays, 365);
    assert.equal(o.body.retentionSource.kind, 'organization');
    // null means "inherit again" — never coerced to 0 (zero retention).
    const back = await owner.patch(`/api/v1/orgs/${child}/workspace/settings`, { retentionDays: null });
    assert.equal(back.status, 200);
    assert.equal(back.body.retentionDays, 7);
    assert.equal(back.body.ownRetentionDays, null);
    assert.equal(back.body.retentionSource.kind, 'inherited');
  });

  test('zero retention: the response is produced, then nothing is stored; uploads are refused', async () => {
    assert.equal(
      (await owner.patch(`/api/v1/orgs/${orgId}/workspace/settings`, { retentionDays: 0, confirm: true })).status,
      200,
    );
    const before = await db()
      .selectFrom('workspace_messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const c = await alice.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'ephemeral title' });
    assert.equal(c.body.title, null);
    assert.equal(c.body.contentStatus, 'not_retained');
    const sent = await alice.post(`/api/v1/orgs/${orgId}/conversations/${c.body.id}/messages`, {
      content: 'forget me',
    });
    assert.equal(sent.status, 201);
    assert.equal(sent.body.retained, false);
    assert.equal(sent.body.messages[1].content, 'echo: forget me');
    const afterCount = await db()
      .selectFrom('workspace_messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(afterCount.n), Number(before.n));
    const row = await db()
      .selectFrom('workspace_conversations')
      .selectAll()
      .where('id', '=', c.body.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.title_ct, null);
    const up0 = await upload(alice, orgId, Buffer.from('x'), 'x.txt');
    assert.equal(up0.status, 409);
    assert.equal(up0.body.error.code, 'zero_retention_no_files');
    assert.equal((await lastAudit('conversation.message_sent'))?.meta.retained, false);
    assert.equal((await owner.patch(`/api/v1/orgs/${orgId}/workspace/settings`, { retentionDays: 90 })).status, 200);
  });

  test('key rotation through the API keeps old conversations readable; crypto-shredding says "shredded"', async () => {
    const c = (await alice.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'before rotation' })).body.id;
    await alice.post(`/api/v1/orgs/${orgId}/conversations/${c}/messages`, { content: 'old words' });
    const f = (await upload(alice, orgId, Buffer.from('old file'), 'f.txt')).body.id;
    assert.equal((await alice.post(`/api/v1/orgs/${orgId}/encryption/rotate`)).status, 403);
    const rot = await owner.post(`/api/v1/orgs/${orgId}/encryption/rotate`);
    assert.equal(rot.status, 200);
    assert.ok(rot.body.keys.length >= 2);
    assert.equal(rot.body.keys.at(-1).status, 'active');
    const c2 = (await alice.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'after rotation' })).body.id;
    const rows = await db()
      .selectFrom('workspace_conversations')
      .select(['id', 'key_version'])
      .where('id', 'in', [c, c2])
      .execute();
    assert.notEqual(rows.find((r) => r.id === c)?.key_version, rows.find((r) => r.id === c2)?.key_version);
    assert.equal((await alice.get(`/api/v1/orgs/${orgId}/conversations/${c}`)).body.messages[0].content, 'old words');

    // Shredding: only a primary owner, with the org id typed as confirmation.
    assert.equal((await owner.post(`/api/v1/orgs/${orgId}/encryption/shred`, { confirm: 'yes' })).status, 400);
    const shred = await owner.post(`/api/v1/orgs/${orgId}/encryption/shred`, { confirm: orgId });
    assert.equal(shred.status, 200);
    assert.ok(shred.body.shreddedAt);
    const read = await alice.get(`/api/v1/orgs/${orgId}/conversations/${c}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.conversation.contentStatus, 'shredded');
    assert.equal(read.body.messages[0].content, null);
    assert.equal(read.body.messages[0].contentStatus, 'shredded');
    const dl = await alice.get(`/api/v1/orgs/${orgId}/files/${f}/content`);
    assert.equal(dl.status, 410);
    assert.equal(dl.body.error.code, 'content_shredded');
    assert.ok(await lastAudit('encryption.keys_shredded'));
    // A shredded conversation takes no new messages: its key cannot be opened, and none is made in its place.
    const more = await alice.post(`/api/v1/orgs/${orgId}/conversations/${c}/messages`, { content: 'new words' });
    assert.equal(more.status, 410);
    assert.equal(more.body.error.code, 'content_shredded');
    assert.match(more.body.error.message, /start a new conversation/);
    assert.equal(
      (await db().selectFrom('workspace_messages').select('id').where('conversation_id', '=', c).execute()).length,
      2,
    );
  });
});
