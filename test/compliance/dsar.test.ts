import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type World, buildWorld, chat, createKey, eventsOf, keyClient, upload, userIdOf } from './world.js';

/**
 * A data-subject access request for Ann: the archive, unpacked with GNU tar (an independent
 * reader), holds everything about her in the tree the key sees, and nothing of anyone else's.
 */
describe('data-subject export', () => {
  let w: World;
  let dir: string;
  let root: string;
  let danId: string;
  let annOtherConversation: string;
  before(async () => {
    w = await buildWorld();
    // Ann becomes an admin of Alpha and invites Dan: her audit events now name another person.
    await w.root.owner.request(
      'PATCH',
      `/api/v1/orgs/${w.alpha.orgId}/members/${(await w.t.db.database.db.selectFrom('memberships').select('id').where('user_id', '=', w.ann.userId).executeTakeFirstOrThrow()).id}`,
      { role: 'admin' },
    );
    const invited = await w.ann.agent.post(`/api/v1/orgs/${w.alpha.orgId}/members`, {
      email: 'dan@root.example',
      role: 'member',
    });
    assert.equal(invited.status, 201, invited.raw.body);
    danId = await userIdOf(w.t, 'dan@root.example');
    await upload(w.ann.agent, w.alpha.orgId, 'second.bin', Buffer.from([0, 1, 2, 250, 251]));
    // Ann also works for another customer: none of that belongs in this organization's export.
    const { agent } = await w.t.addMember(w.other.owner, w.other.orgId, 'ann@root.example', 'member');
    await w.other.owner.request('PUT', `/api/v1/orgs/${w.other.orgId}/gateway/upstream`, {
      name: 'loop',
      kind: 'anthropic',
      baseUrl: w.up.url,
    });
    annOtherConversation = await chat(agent, w.other.orgId, 'Ann other customer secret', ['other customer prompt']);
    await upload(agent, w.other.orgId, 'other.txt', 'other customer file');

    const key = keyClient(
      w.t,
      (await createKey(w.root.owner, w.root.orgId, { scopes: ['read:compliance_user_data'] })).secret,
    );
    const res = await key.get(`/v1/compliance/users/${w.ann.userId}/export`);
    assert.equal(res.status, 200, res.raw.body);
    assert.equal(res.headers['content-type'], 'application/x-tar');
    assert.equal(res.headers['content-disposition'], `attachment; filename="palisade-dsar-${w.ann.userId}.tar"`);
    dir = mkdtempSync(join(tmpdir(), 'palisade-dsar-'));
    writeFileSync(join(dir, 'export.tar'), res.raw.rawPayload);
    execFileSync('tar', ['-xf', 'export.tar'], { cwd: dir });
    root = join(dir, `palisade-dsar-${w.ann.userId}`);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await w.close();
  });

  const read = (name: string) => readFileSync(join(root, name), 'utf8');
  const everything = () => {
    const all: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true }))
        e.isDirectory() ? walk(join(d, e.name)) : all.push(readFileSync(join(d, e.name)).toString('latin1'));
    };
    walk(root);
    return all.join('\n');
  };

  test('it holds her profile, memberships, conversations with their messages, files, usage and the events she caused', async () => {
    const profile = JSON.parse(read('profile.json'));
    assert.deepEqual(
      [profile.id, profile.email_address, profile.has_password],
      [w.ann.userId, 'ann@root.example', true],
    );
    assert.ok(!('password_hash' in profile));
    const memberships = JSON.parse(read('memberships.json'));
    assert.deepEqual(
      memberships.map((m: { organization_id: string; role: string }) => [m.organization_id, m.role]),
      [[w.alpha.orgId, 'admin']],
    );
    const db = w.t.db.database.db;
    const convs = await db
      .selectFrom('workspace_conversations')
      .select('id')
      .where('user_id', '=', w.ann.userId)
      .where('org_id', '=', w.alpha.orgId)
      .execute();
    assert.deepEqual(readdirSync(join(root, 'conversations')).sort(), convs.map((c) => `${c.id}.json`).sort());
    const conv = JSON.parse(read(`conversations/${w.ann.conversationId}.json`));
    assert.equal(conv.name, 'Ann merger plans');
    assert.deepEqual(
      conv.messages.map((m: { role: string; content: string }) => [m.role, m.content]),
      [
        ['user', 'Ann asks about the merger'],
        ['assistant', 'echo: Ann asks about the merger'],
      ],
    );
    const files = await db
      .selectFrom('workspace_files')
      .select(['id', 'sha256'])
      .where('user_id', '=', w.ann.userId)
      .where('org_id', '=', w.alpha.orgId)
      .execute();
    assert.equal(files.length, 2);
    for (const f of files) {
      const meta = JSON.parse(read(`files/${f.id}.json`));
      assert.equal(meta.sha256, f.sha256);
      const bytes = readFileSync(join(root, `files/${f.id}.bin`));
      assert.equal(bytes.length, meta.size_bytes);
    }
    assert.equal(read(`files/${w.ann.fileId}.bin`), 'ann file body');
    const usage = JSON.parse(read('usage.json'));
    assert.ok(
      usage.length >= 1 && usage.every((u: { organization_id: string }) => u.organization_id === w.alpha.orgId),
    );
    const events = readdirSync(join(root, 'audit-events'))
      .flatMap((f) => read(`audit-events/${f}`).trim().split('\n'))
      .map((l) => JSON.parse(l));
    const stored = await db
      .selectFrom('audit_events')
      .select('id')
      .where('actor_id', '=', w.ann.userId)
      .where('org_id', 'in', [w.root.orgId, w.alpha.orgId, w.beta.orgId])
      .execute();
    assert.deepEqual(events.map((e: { id: string }) => e.id).sort(), stored.map((e) => e.id).sort());
    assert.ok(events.some((e: { type: string }) => e.type === 'member.invited'));
    const manifest = JSON.parse(read('manifest.json'));
    assert.deepEqual(manifest.organizations, [w.alpha.orgId]);
    assert.deepEqual(manifest.counts, { conversations: convs.length, files: 2, auditEvents: stored.length });
  });

  test("it holds nothing of anyone else's: colleagues, the person she invited, or her work for another customer", async () => {
    const text = everything();
    for (const s of [
      'Cid budget',
      'Cid asks about the budget',
      'cid file body',
      'cid@root.example',
      w.cid.userId,
      w.cid.conversationId,
      'Bea hiring',
      'bea@root.example',
      w.bea.userId,
      'dan@root.example',
      danId,
      'owner@root.example',
      w.root.ownerId,
      'Ann other customer secret',
      'other customer prompt',
      'other customer file',
      annOtherConversation,
      w.other.orgId,
      'Other Corp',
    ]) {
      assert.ok(!text.includes(s), `the export contains ${s}`);
    }
    const invited = readdirSync(join(root, 'audit-events'))
      .flatMap((f) => read(`audit-events/${f}`).trim().split('\n'))
      .map((l) => JSON.parse(l))
      .find((e: { type: string }) => e.type === 'member.invited');
    assert.ok(
      invited.targets.some((t: { type: string; id: string }) => t.type === 'user' && t.id === '[redacted]'),
      'the invitee is named only as [redacted]',
    );
  });

  test('the export is audited with the person, the organizations and the counts; unknown and foreign people are 404', async () => {
    const e = (await eventsOf(w.t, w.root.orgId, 'compliance.user_exported')).pop();
    assert.ok(e?.targets.some((t) => t.type === 'user' && t.id === w.ann.userId));
    assert.equal(e?.metadata.organizations, 1);
    assert.equal(e?.actor_type, 'compliance_key');
    const key = keyClient(
      w.t,
      (await createKey(w.root.owner, w.root.orgId, { scopes: ['read:compliance_user_data'] })).secret,
    );
    const otherOwner = await userIdOf(w.t, 'owner@other.example');
    for (const id of ['usr_00000000000000000000000000', otherOwner]) {
      const res = await key.get(`/v1/compliance/users/${id}/export`);
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'not_found');
    }
  });
});
