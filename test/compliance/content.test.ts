import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Agent } from '../helpers/harness.js';
import { type World, buildWorld, chat, createKey, eventsOf, keyClient, upload } from './world.js';

type Chat = { id: string; organization_id: string; user: { id: string; email_address: string }; name: string | null };

describe('chats, messages and files through the Compliance API', () => {
  let w: World;
  let key: Agent;
  let keyId: string;
  before(async () => {
    w = await buildWorld();
    const k = await createKey(w.root.owner, w.root.orgId, { name: 'eDiscovery' });
    key = keyClient(w.t, k.secret);
    keyId = k.id;
  });
  after(() => w.close());

  test('chats of any number of people, or of everyone, newest first, with decrypted titles', async () => {
    const all = (await key.get('/v1/compliance/apps/chats')).body;
    assert.deepEqual(
      all.data.map((c: Chat) => c.id),
      [w.bea.conversationId, w.cid.conversationId, w.ann.conversationId],
      'everyone, newest first',
    );
    assert.deepEqual(
      all.data.map((c: Chat) => c.name),
      ['Bea hiring', 'Cid budget', 'Ann merger plans'],
    );
    const two = (await key.get(`/v1/compliance/apps/chats?user_ids[]=${w.ann.userId}&user_ids[]=${w.bea.userId}`)).body;
    assert.deepEqual(
      two.data.map((c: Chat) => c.user.email_address),
      ['bea@root.example', 'ann@root.example'],
    );
    // A long list (2,000 ids, past what a URL carries) goes in a POST body.
    const many = Array.from({ length: 1999 }, (_, i) => `usr_${String(i).padStart(26, '0')}`).concat(w.cid.userId);
    const viaBody = await key.post('/v1/compliance/apps/chats/query', {
      user_ids: many,
      organization_ids: [w.alpha.orgId],
    });
    assert.equal(viaBody.status, 200, viaBody.raw.body);
    assert.deepEqual(
      viaBody.body.data.map((c: Chat) => c.id),
      [w.cid.conversationId],
    );
    // Paging: one per page, both directions.
    const p1 = (await key.get('/v1/compliance/apps/chats?limit=1')).body;
    const p2 = (await key.get(`/v1/compliance/apps/chats?limit=1&after_id=${p1.last_id}`)).body;
    const back = (await key.get(`/v1/compliance/apps/chats?limit=1&before_id=${p2.first_id}`)).body;
    assert.deepEqual(
      [p1.data[0].id, p2.data[0].id, back.data[0].id],
      [w.bea.conversationId, w.cid.conversationId, w.bea.conversationId],
    );
    assert.equal(p1.has_more, true);
    assert.equal(back.has_more, false);
    // Titles are content: the read is recorded in each organization whose titles were returned.
    const reads = await eventsOf(w.t, w.alpha.orgId, 'compliance.content_read');
    assert.ok(
      reads.some(
        (e) =>
          e.metadata.resource === 'chat_titles' &&
          e.targets.some((t) => t.id === w.ann.conversationId) &&
          e.actor_id === keyId,
      ),
    );
  });

  test('messages are decrypted, in order, and every read is audited with who read what, never the content', async () => {
    await chat(w.ann.agent, w.alpha.orgId, 'second', ['one', 'two']);
    const before = (await eventsOf(w.t, w.alpha.orgId, 'compliance.content_read')).length;
    const res = await key.get(`/v1/compliance/apps/chats/${w.ann.conversationId}/messages`);
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.data.map((m: { role: string; content: string }) => [m.role, m.content]),
      [
        ['user', 'Ann asks about the merger'],
        ['assistant', 'echo: Ann asks about the merger'],
      ],
    );
    const reads = await eventsOf(w.t, w.alpha.orgId, 'compliance.content_read');
    assert.equal(reads.length, before + 1);
    const e = reads[reads.length - 1] as (typeof reads)[number];
    assert.equal(e.actor_type, 'compliance_key');
    assert.equal(e.actor_id, keyId);
    assert.equal(e.actor_ip, '198.51.100.7');
    assert.deepEqual(e.targets, [
      { type: 'compliance_key', id: keyId, name: 'eDiscovery' },
      { type: 'conversation', id: w.ann.conversationId },
      { type: 'user', id: w.ann.userId },
    ]);
    assert.deepEqual(e.metadata, {
      resource: 'chat_messages',
      records: 2,
      bytes: Buffer.byteLength('Ann asks about the merger') + Buffer.byteLength('echo: Ann asks about the merger'),
      firstMessageId: res.body.data[0].id,
      lastMessageId: res.body.data[1].id,
    });
    assert.ok(!JSON.stringify(e).includes('merger'), 'the audit event carries no content');
    // Paged reads are audited one by one.
    const one = await key.get(`/v1/compliance/apps/chats/${w.ann.conversationId}/messages?limit=1`);
    const rest = await key.get(
      `/v1/compliance/apps/chats/${w.ann.conversationId}/messages?limit=1&after_id=${one.body.last_id}`,
    );
    assert.deepEqual([one.body.has_more, rest.body.has_more, rest.body.data[0].role], [true, false, 'assistant']);
    assert.equal((await eventsOf(w.t, w.alpha.orgId, 'compliance.content_read')).length, before + 3);
  });

  test('files: metadata, the bytes as uploaded, each read audited', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 3, 255]);
    const fileId = await upload(w.cid.agent, w.alpha.orgId, 'scan.png', bytes);
    const meta = await key.get(`/v1/compliance/apps/files/${fileId}`);
    assert.equal(meta.body.filename, 'scan.png');
    assert.equal(meta.body.size_bytes, bytes.length);
    assert.equal(meta.body.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(meta.body.user.email_address, 'cid@root.example');
    const content = await key.get(`/v1/compliance/apps/files/${fileId}/content`);
    assert.equal(content.status, 200);
    assert.deepEqual(content.raw.rawPayload, bytes);
    assert.equal(content.headers['content-type'], 'application/octet-stream');
    assert.equal(content.headers['content-disposition'], 'attachment');
    const reads = (await eventsOf(w.t, w.alpha.orgId, 'compliance.content_read')).filter((e) =>
      e.targets.some((t) => t.id === fileId),
    );
    assert.deepEqual(
      reads.map((e) => [e.metadata.resource, e.metadata.bytes]),
      [
        ['file_metadata', Buffer.byteLength('scan.png')],
        ['file_content', bytes.length],
      ],
    );
    const listed = (await key.get(`/v1/compliance/apps/files?user_ids[]=${w.cid.userId}`)).body;
    assert.deepEqual(
      listed.data.map((f: { id: string }) => f.id),
      [fileId, w.cid.fileId],
    );
  });

  test('deleting under a legal hold is refused with 409 legal_hold, audited as denied, and deletes nothing', async () => {
    const hold = await w.root.owner.post(`/api/v1/orgs/${w.alpha.orgId}/legal-holds`, {
      userId: w.ann.userId,
      reason: 'Case 42',
    });
    assert.equal(hold.status, 201);
    const db = w.t.db.database.db;
    const messagesBefore = (
      await db
        .selectFrom('workspace_messages')
        .select('id')
        .where('conversation_id', '=', w.ann.conversationId)
        .execute()
    ).length;
    for (const url of [
      `/v1/compliance/apps/chats/${w.ann.conversationId}`,
      `/v1/compliance/apps/files/${w.ann.fileId}`,
    ]) {
      const res = await key.delete(url);
      assert.equal(res.status, 409, url);
      assert.equal(res.body.error.code, 'legal_hold');
      assert.match(res.body.error.message, /legal hold \(on this person\).*lift the hold/);
      assert.equal(res.body.error.details.holdScope, 'user');
    }
    assert.ok(
      await db
        .selectFrom('workspace_conversations')
        .select('id')
        .where('id', '=', w.ann.conversationId)
        .executeTakeFirst(),
    );
    assert.equal(
      (
        await db
          .selectFrom('workspace_messages')
          .select('id')
          .where('conversation_id', '=', w.ann.conversationId)
          .execute()
      ).length,
      messagesBefore,
    );
    assert.ok(await db.selectFrom('workspace_files').select('id').where('id', '=', w.ann.fileId).executeTakeFirst());
    const denied = await eventsOf(w.t, w.alpha.orgId, 'compliance.content_deleted');
    assert.deepEqual(
      denied.map((e) => [e.outcome, e.metadata.resource, e.metadata.reason, e.metadata.holdScope]),
      [
        ['denied', 'chat', 'legal_hold', 'user'],
        ['denied', 'file', 'legal_hold', 'user'],
      ],
    );
    // Cid in the same unit is not held: his chat can go. A hold on the whole parent covers the units below it.
    const parentHold = await w.root.owner.post(`/api/v1/orgs/${w.root.orgId}/legal-holds`, {
      reason: 'Regulator inquiry',
    });
    const refused = await key.delete(`/v1/compliance/apps/chats/${w.cid.conversationId}`);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.details.holdScope, 'organization');
    await w.root.owner.delete(`/api/v1/orgs/${w.root.orgId}/legal-holds/${parentHold.body.id}`);
    const ok = await key.delete(`/v1/compliance/apps/chats/${w.cid.conversationId}`);
    assert.equal(ok.status, 204);
    assert.equal(
      await db
        .selectFrom('workspace_conversations')
        .select('id')
        .where('id', '=', w.cid.conversationId)
        .executeTakeFirst(),
      undefined,
    );
    assert.deepEqual(
      await db
        .selectFrom('workspace_messages')
        .select('id')
        .where('conversation_id', '=', w.cid.conversationId)
        .execute(),
      [],
    );
    const done = (await eventsOf(w.t, w.alpha.orgId, 'compliance.content_deleted')).pop();
    assert.deepEqual(
      [done?.outcome, done?.metadata.resource, done?.metadata.messages, done?.actor_id],
      ['success', 'chat', 2, keyId],
    );
    assert.equal((await key.get(`/v1/compliance/apps/chats/${w.cid.conversationId}/messages`)).status, 404);
    // Lifting Ann's hold lets her file go too.
    await w.root.owner.delete(`/api/v1/orgs/${w.alpha.orgId}/legal-holds/${hold.body.id}`);
    assert.equal((await key.delete(`/v1/compliance/apps/files/${w.ann.fileId}`)).status, 204);
    assert.equal((await key.get(`/v1/compliance/apps/files/${w.ann.fileId}`)).status, 404);
  });

  test('crypto-shredded content is reported as such: metadata stays, content is null, the bytes are 410', async () => {
    const shred = await w.root.owner.post(`/api/v1/orgs/${w.beta.orgId}/encryption/shred`, { confirm: w.beta.orgId });
    assert.equal(shred.status, 200, shred.raw.body);
    const msgs = await key.get(`/v1/compliance/apps/chats/${w.bea.conversationId}/messages`);
    assert.deepEqual(
      msgs.body.data.map((m: { content: string | null; content_status: string }) => [m.content, m.content_status]),
      [
        [null, 'shredded'],
        [null, 'shredded'],
      ],
    );
    const file = await key.get(`/v1/compliance/apps/files/${w.bea.fileId}/content`);
    assert.equal(file.status, 410);
    assert.equal(file.body.error.code, 'content_shredded');
  });
});
