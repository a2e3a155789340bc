import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sealFor } from '../../src/crypto/data-keys.js';
import { newId } from '../../src/ids.js';
import { resealLegacyContent } from '../../src/workspace/reseal.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * Content written before content keys existed is sealed directly under the organization's data
 * key, which is never destroyed by a deletion. The re-seal job moves it onto content keys of its
 * own, after which deleting it erases it like any other.
 */
describe('re-sealing content from before content keys', () => {
  let t: TestApp;
  let orgId: string;
  let alice: Agent;
  let aliceId: string;
  const db = () => t.db.database.db;

  /** Writes a conversation (title, two messages) and a file the way Palisade did before migration 0017. */
  async function legacyContent(org: string, user: string) {
    const now = t.clock.now();
    const at = now.toISOString();
    const convId = newId('cnv', now);
    const title = await sealFor(
      db(),
      t.config,
      now,
      { orgId: org, table: 'workspace_conversations', recordId: convId },
      'Old title',
    );
    await db()
      .insertInto('workspace_conversations')
      .values({
        id: convId,
        org_id: org,
        user_id: user,
        source: 'workspace',
        title_ct: title.ct,
        key_version: title.keyVersion,
        retention_days: null,
        created_at: at,
        updated_at: at,
        last_message_at: at,
      })
      .execute();
    for (const [role, text] of [
      ['user', 'old prompt'],
      ['assistant', 'old answer'],
    ] as const) {
      const id = newId('msg', now);
      const s = await sealFor(db(), t.config, now, { orgId: org, table: 'workspace_messages', recordId: id }, text);
      await db()
        .insertInto('workspace_messages')
        .values({
          id,
          org_id: org,
          conversation_id: convId,
          role,
          content_ct: s.ct,
          key_version: s.keyVersion,
          size_bytes: text.length,
          model: null,
          input_tokens: null,
          output_tokens: null,
          created_at: at,
        })
        .execute();
    }
    const fileId = newId('fil', now);
    const n = await sealFor(
      db(),
      t.config,
      now,
      { orgId: org, table: 'workspace_files.name', recordId: fileId },
      'old.txt',
    );
    const d = await sealFor(
      db(),
      t.config,
      now,
      { orgId: org, table: 'workspace_files', recordId: fileId },
      'old bytes',
    );
    await db()
      .insertInto('workspace_files')
      .values({
        id: fileId,
        org_id: org,
        user_id: user,
        name_ct: n.ct,
        content_ct: d.ct,
        key_version: d.keyVersion,
        content_type: 'text/plain',
        size_bytes: 9,
        sha256: 'x',
        retention_days: null,
        created_at: at,
      })
      .execute();
    return { convId, fileId };
  }

  before(async () => {
    t = await createTestApp();
    const seeded = await t.seedOrg('Acme', 'owner@acme.example');
    orgId = seeded.orgId;
    alice = (await t.addMember(seeded.owner, orgId, 'alice@acme.example', 'member')).agent;
    aliceId = (await alice.get('/api/v1/auth/session')).body.user.id;
  });
  after(() => t.close());

  test('legacy conversations and files are readable before, moved onto content keys, readable after; a second run changes nothing', async () => {
    const { convId, fileId } = await legacyContent(orgId, aliceId);
    const before = await alice.get(`/api/v1/orgs/${orgId}/conversations/${convId}`);
    assert.equal(before.body.conversation.title, 'Old title');
    assert.deepEqual(
      before.body.messages.map((m: { content: string }) => m.content),
      ['old prompt', 'old answer'],
    );
    const ctBefore = (
      await db().selectFrom('workspace_messages').select('content_ct').where('conversation_id', '=', convId).execute()
    ).map((r) => r.content_ct);

    const run = await resealLegacyContent(t.system);
    assert.deepEqual(run, { conversations: 1, files: 1, skipped: 0 });
    const conv = await db()
      .selectFrom('workspace_conversations')
      .selectAll()
      .where('id', '=', convId)
      .executeTakeFirstOrThrow();
    assert.match(String(conv.content_key_id), /^cky_/);
    const msgs = await db()
      .selectFrom('workspace_messages')
      .selectAll()
      .where('conversation_id', '=', convId)
      .execute();
    assert.ok(msgs.every((m) => m.content_key_id === conv.content_key_id));
    assert.ok(
      msgs.every((m) => !ctBefore.includes(m.content_ct)),
      'every ciphertext was replaced',
    );
    const file = await db()
      .selectFrom('workspace_files')
      .selectAll()
      .where('id', '=', fileId)
      .executeTakeFirstOrThrow();
    assert.match(String(file.content_key_id), /^cky_/);
    assert.notEqual(file.content_key_id, conv.content_key_id);

    const after = await alice.get(`/api/v1/orgs/${orgId}/conversations/${convId}`);
    assert.equal(after.body.conversation.title, 'Old title');
    assert.deepEqual(
      after.body.messages.map((m: { content: string }) => m.content),
      ['old prompt', 'old answer'],
    );
    assert.equal((await alice.get(`/api/v1/orgs/${orgId}/files/${fileId}/content`)).raw.body, 'old bytes');
    assert.deepEqual(await resealLegacyContent(t.system), { conversations: 0, files: 0, skipped: 0 });

    // Deleting it now destroys its key.
    assert.equal((await alice.delete(`/api/v1/orgs/${orgId}/conversations/${convId}`)).status, 204);
    assert.equal(
      await db()
        .selectFrom('content_keys')
        .select('id')
        .where('id', '=', conv.content_key_id as string)
        .executeTakeFirst(),
      undefined,
    );
  });

  test("a crypto-shredded organization's legacy content cannot be opened and is left as it is, still reported as shredded", async () => {
    const other = await t.seedOrg('Shredded', 'owner@shredded.example');
    const ownerId = (await other.owner.get('/api/v1/auth/session')).body.user.id;
    const { convId } = await legacyContent(other.orgId, ownerId);
    assert.equal(
      (await other.owner.post(`/api/v1/orgs/${other.orgId}/encryption/shred`, { confirm: other.orgId })).status,
      200,
    );
    const run = await resealLegacyContent(t.system);
    assert.equal(run.skipped, 2, 'its conversation and file');
    const conv = await db()
      .selectFrom('workspace_conversations')
      .select('content_key_id')
      .where('id', '=', convId)
      .executeTakeFirstOrThrow();
    assert.equal(conv.content_key_id, null);
    const read = await other.owner.get(`/api/v1/orgs/${other.orgId}/conversations/${convId}`);
    assert.equal(read.body.conversation.contentStatus, 'shredded');
    assert.ok(read.body.messages.every((m: { contentStatus: string }) => m.contentStatus === 'shredded'));
  });
});
