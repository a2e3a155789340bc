import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventFromRow } from '../../src/audit/event.js';
import { recordAudit } from '../../src/audit/record.js';
import type { Ctx } from '../../src/context.js';
import { toOcsf } from '../../src/streams/formats.js';
import type { Agent } from '../helpers/harness.js';
import { type World, buildWorld, createKey, keyClient } from './world.js';
import { testAction } from '../helpers/audit-actions.js';

type Activity = {
  id: string;
  created_at: string;
  type: string;
  organization_id: string;
  actor: { id: string | null; type: string; email_address: string | null };
};
type Page = { data: Activity[]; has_more: boolean; first_id: string | null; last_id: string | null };

/** Writes one audit event through the real write path, as a person of the tree would cause it. */
async function write(w: World, orgId: string, action: string, actor = w.ann): Promise<void> {
  const ctx: Ctx = {
    ...w.t.system,
    caller: { kind: 'user', userId: actor.userId, email: actor.email, via: 'session', credentialId: 'ses_test' },
  };
  await w.t.db.database.db
    .transaction()
    .execute((tx) =>
      recordAudit(tx, ctx, { orgId, action: testAction(action), targets: [{ type: 'organization', id: orgId }] }),
    );
}

const treeEventIds = async (w: World) =>
  (
    await w.t.db.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('org_id', 'in', [w.root.orgId, w.alpha.orgId, w.beta.orgId])
      .execute()
  )
    .map((r) => r.id)
    .sort();

describe('the activity feed', () => {
  let w: World;
  let feed: Agent;
  before(async () => {
    w = await buildWorld();
    feed = keyClient(
      w.t,
      (
        await createKey(w.root.owner, w.root.orgId, {
          name: 'SIEM',
          scopes: ['read:compliance_activities'],
          rateLimitPerMinute: 100_000,
        })
      ).secret,
    );
  });
  after(() => w.close());

  test('holds the whole history of the tree, newest first, including what happened before the key existed', async () => {
    const page = (await feed.get('/v1/compliance/activities?limit=5000')).body as Page;
    const types = page.data.map((a) => a.type);
    assert.ok(types.includes('org.created'), 'the organization creation predates the key');
    assert.ok(types.includes('conversation.message_sent'));
    assert.ok(types.includes('compliance_key.created'));
    for (let i = 1; i < page.data.length; i++) {
      const [a, b] = [page.data[i - 1] as Activity, page.data[i] as Activity];
      assert.ok(a.created_at > b.created_at || (a.created_at === b.created_at && a.id > b.id), `newest first at ${i}`);
    }
    assert.equal(page.first_id, page.data[0]?.id);
    assert.equal(page.last_id, page.data[page.data.length - 1]?.id);
    assert.equal(page.has_more, false);
    const stored = await treeEventIds(w);
    // Every event of the tree up to this request (this request's own use is written before it reads).
    assert.deepEqual(page.data.map((a) => a.id).sort(), stored.filter((id) => id <= (page.first_id as string)).sort());
    const other = (
      await w.t.db.database.db.selectFrom('audit_events').select('id').where('org_id', '=', w.other.orgId).execute()
    ).map((r) => r.id);
    assert.ok(
      other.length > 0 && other.every((id) => !page.data.some((a) => a.id === id)),
      'nothing of another customer',
    );
    const message = page.data.find(
      (a) => a.type === 'conversation.message_sent' && a.actor.id === w.ann.userId,
    ) as Activity & { metadata: Record<string, unknown>; targets: unknown[]; sequence: number; hash: string };
    assert.equal(message.organization_id, w.alpha.orgId);
    assert.equal(message.actor.email_address, 'ann@root.example');
    assert.equal(message.metadata.promptBytes, Buffer.byteLength('Ann asks about the merger'));
    assert.equal(message.metadata.promptExcerpt, undefined, 'metadata only by default');
    assert.equal(typeof message.sequence, 'number');
    assert.match(message.hash, /^[0-9a-f]{64}$/);
  });

  test('filters by type (exact and prefix), actor (id or email), organization and time with gt/gte/lt/lte', async () => {
    const get = async (q: string) => (await feed.get(`/v1/compliance/activities?limit=5000&${q}`)).body as Page;
    const invited = await get('activity_types[]=member.invited');
    assert.ok(invited.data.length >= 3 && invited.data.every((a) => a.type === 'member.invited'));
    const prefixed = await get('activity_types[]=conversation.*&activity_types[]=file.uploaded');
    assert.deepEqual([...new Set(prefixed.data.map((a) => a.type))].sort(), [
      'conversation.created',
      'conversation.message_sent',
      'file.uploaded',
    ]);
    const byAnn = await get(`actor_ids[]=${w.ann.userId}`);
    assert.ok(byAnn.data.length >= 3 && byAnn.data.every((a) => a.actor.id === w.ann.userId));
    const byEmail = await get('actor_ids=cid@root.example');
    assert.ok(byEmail.data.length >= 3 && byEmail.data.every((a) => a.actor.email_address === 'cid@root.example'));
    const beta = await get(`organization_ids[]=${w.beta.orgId}`);
    assert.ok(beta.data.length > 0 && beta.data.every((a) => a.organization_id === w.beta.orgId));

    // Three events one second apart; the bounds include or exclude the middle one exactly.
    w.t.clock.advance(3_600_000);
    const times: string[] = [];
    for (const action of ['probe.first', 'probe.second', 'probe.third']) {
      w.t.clock.advance(1000);
      times.push(w.t.clock.now().toISOString());
      await write(w, w.alpha.orgId, action);
    }
    const probes = async (q: string) => (await get(`activity_types[]=probe.*&${q}`)).data.map((a) => a.type).reverse();
    const [, mid] = times as [string, string, string];
    assert.deepEqual(await probes(`created_at.gte=${mid}`), ['probe.second', 'probe.third']);
    assert.deepEqual(await probes(`created_at.gt=${mid}`), ['probe.third']);
    assert.deepEqual(await probes(`created_at.lte=${mid}`), ['probe.first', 'probe.second']);
    assert.deepEqual(await probes(`created_at.lt=${mid}`), ['probe.first']);
    assert.deepEqual(await probes(`created_at.gte=${mid}&created_at.lte=${mid}`), ['probe.second']);
  });

  test('format=ocsf returns each event through the same OCSF mapping as the SIEM streams', async () => {
    const plain = (await feed.get('/v1/compliance/activities?limit=50')).body as Page;
    const ocsf = (await feed.get(`/v1/compliance/activities?limit=50&format=ocsf&after_id=${plain.data[0]?.id}`))
      .body as { data: Record<string, unknown>[]; first_id: string };
    const ids = ocsf.data.map((e) => (e.metadata as { uid: string }).uid);
    assert.equal(ocsf.first_id, ids[0]);
    const rows = await w.t.db.database.db.selectFrom('audit_events').selectAll().where('id', 'in', ids).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    assert.ok(ids.length >= 30, String(ids.length));
    for (const e of ocsf.data) {
      const row = byId.get((e.metadata as { uid: string }).uid);
      assert.ok(row);
      assert.deepEqual(e, JSON.parse(JSON.stringify(toOcsf(eventFromRow(row)))));
    }
    assert.ok(
      ocsf.data.some((e) => e.class_uid === 3001),
      'account changes are Account Change (3001)',
    );
    assert.ok(
      ocsf.data.some((e) => e.class_uid === 6003),
      'administration is API Activity (6003)',
    );
  });

  test('paging back with after_id and forward with before_id while events are written: no duplicates, no gaps', async () => {
    // History to page through: events in all three organizations, many sharing a millisecond.
    for (let i = 0; i < 240; i++) {
      if (i % 3 === 0) w.t.clock.advance(1);
      await write(w, [w.root.orgId, w.alpha.orgId, w.beta.orgId][i % 3] as string, 'history.event');
    }
    const seen: string[] = [];
    let page = (await feed.get('/v1/compliance/activities?limit=37')).body as Page;
    const newestAtStart = page.first_id as string;
    let writes = 0;
    for (;;) {
      seen.push(...page.data.map((a) => a.id));
      // Meanwhile the tree keeps working: new events land at the head of the feed.
      for (let k = 0; k < 4; k++) await write(w, [w.alpha.orgId, w.beta.orgId][writes++ % 2] as string, 'live.event');
      if (!page.has_more) break;
      page = (await feed.get(`/v1/compliance/activities?limit=37&after_id=${page.last_id}`)).body as Page;
    }
    // Then forward from where the backfill started, the way a SIEM polls: before_id = newest seen.
    let cursor = newestAtStart;
    for (;;) {
      const next = (await feed.get(`/v1/compliance/activities?limit=37&before_id=${cursor}`)).body as Page;
      if (next.data.length) cursor = next.first_id as string;
      // Shown newest first, like every page.
      for (let i = 1; i < next.data.length; i++)
        assert.ok(
          (next.data[i - 1] as Activity).id > (next.data[i] as Activity).id ||
            (next.data[i - 1] as Activity).created_at > (next.data[i] as Activity).created_at,
        );
      seen.push(...next.data.map((a) => a.id));
      if (!next.has_more) break;
    }
    assert.equal(new Set(seen).size, seen.length, 'no event was served twice');
    const stored = await treeEventIds(w);
    const missing = stored.filter((id) => !seen.includes(id));
    // Only this last request's own use record can be newer than what it read.
    assert.ok(missing.length <= 1, `events never served: ${missing.length}`);
    assert.ok(writes >= 24 && seen.length >= 240 + writes);
  });

  test('cursors and filters are checked: both cursors, unknown cursor, bad time, empty range, bad type, unknown parameter', async () => {
    const cases: [string, string][] = [
      ['after_id=evt_1&before_id=evt_2', 'conflicting_cursors'],
      ['after_id=evt_00000000000000000000000000', 'invalid_cursor'],
      ['created_at.gte=yesterday', 'invalid_time'],
      ['created_at.gte=2026-02-01T00:00:00Z&created_at.lt=2026-01-01T00:00:00Z', 'invalid_time_range'],
      ['created_at.gt=2026-02-01T00:00:00Z&created_at.gte=2026-01-01T00:00:00Z', 'invalid_time_range'],
      ['activity_types[]=DROP TABLE', 'invalid_activity_type'],
      ['created_at_gte=2026-01-01', 'invalid_request'],
      ['limit=0', 'invalid_request'],
    ];
    for (const [q, code] of cases) {
      const res = await feed.get(`/v1/compliance/activities?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.error.code, code, `${q}: ${res.body.error.message}`);
    }
    // An event of another customer is not a cursor this key can use.
    const foreign = await w.t.db.database.db
      .selectFrom('audit_events')
      .select('id')
      .where('org_id', '=', w.other.orgId)
      .executeTakeFirstOrThrow();
    const res = await feed.get(`/v1/compliance/activities?after_id=${foreign.id}`);
    assert.equal(res.body.error.code, 'invalid_cursor');
  });
});

describe('the activity feed serves only settled events', () => {
  let w: World;
  before(async () => (w = await buildWorld({ complianceFeedDelaySeconds: 10 })));
  after(() => w.close());

  test('an event stamped before the reader passed, but committed after, is still delivered by the next poll', async () => {
    const feed = keyClient(
      w.t,
      (await createKey(w.root.owner, w.root.orgId, { scopes: ['read:compliance_activities'] })).secret,
    );
    w.t.clock.advance(60_000);
    const first = (await feed.get('/v1/compliance/activities?limit=10')).body as Page;
    // Nothing younger than 10 seconds is served: the key's own creation a minute ago is, this request's use is not yet.
    assert.ok(first.data.every((a) => Date.parse(a.created_at) <= w.t.clock.now().getTime() - 10_000));
    assert.ok(first.data.some((a) => a.type === 'compliance_key.created'));
    // A slow transaction elsewhere took its timestamp 5 s ago and commits only now.
    const now = w.t.clock.now().getTime();
    w.t.clock.set(new Date(now - 5000));
    await write(w, w.beta.orgId, 'slow.commit', w.bea);
    w.t.clock.set(new Date(now + 11_000));
    const next = (await feed.get(`/v1/compliance/activities?limit=100&before_id=${first.first_id}`)).body as Page;
    assert.ok(
      next.data.some((a) => a.type === 'slow.commit'),
      'the late event is after the cursor, not skipped',
    );
  });
});
