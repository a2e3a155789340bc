import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { recordAuditBatch } from '../../src/audit/record.js';
import { purgeOrg } from '../../src/audit/retention.js';
import { type Database, dropPostgresSchema, openDatabase } from '../../src/db/connect.js';
import { migrateTo, migrateToLatest } from '../../src/db/migrate.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { PG_URL, TEST_DIALECT } from '../helpers/db.js';
import { testAction } from '../helpers/audit-actions.js';

const DAY = 86_400_000;

describe('audit target index', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const write = async (
    orgId: string,
    targets: { type: string; id: string; name?: string }[][],
    action = 'test.targeted',
  ) => {
    const ids = await t.db.database.db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        t.system,
        targets.map((ts) => ({ orgId, action: testAction(action), targets: ts })),
      ),
    );
    // Target index rows are written when events are sealed: seal before reading the tables.
    await t.sealAudit();
    return ids;
  };

  test('finds every event naming a target, whichever position it has, and nothing else', async () => {
    const { orgId, owner } = await t.seedOrg('Targets', 'owner@targets.example');
    await write(orgId, [
      [{ type: 'user', id: 'usr_a' }],
      [
        { type: 'group', id: 'grp_x' },
        { type: 'user', id: 'usr_a' },
      ],
      [
        { type: 'user', id: 'usr_a' },
        { type: 'user', id: 'usr_a' },
      ], // the same id twice: indexed once, found once
      [{ type: 'user', id: 'usr_ab' }], // a longer id sharing the prefix is another target
      [{ type: 'user', id: 'usr_%' }],
      [{ type: 'user', id: 'usr__' }],
      [{ type: 'file', id: 'name with "quotes" and \\ back' }],
      [],
    ]);
    const ids = async (target: string) => {
      const res = await owner.get(
        `/api/v1/orgs/${orgId}/audit-events?action=test.targeted&target=${encodeURIComponent(target)}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.data as { seq: number; targets: { id: string }[] }[];
    };
    const a = await ids('usr_a');
    assert.equal(a.length, 3);
    assert.ok(a.every((e) => e.targets.some((x) => x.id === 'usr_a')));
    assert.deepEqual(
      a.map((e) => e.seq),
      [...a.map((e) => e.seq)].sort((x, y) => y - x),
      'newest first',
    );
    assert.equal((await ids('usr_ab')).length, 1);
    // LIKE wildcards in an id are plain characters, not patterns.
    assert.deepEqual(
      (await ids('usr_%')).map((e) => e.targets[0]!.id),
      ['usr_%'],
    );
    assert.deepEqual(
      (await ids('usr__')).map((e) => e.targets[0]!.id),
      ['usr__'],
    );
    assert.equal((await ids('name with "quotes" and \\ back')).length, 1);
    assert.equal((await ids('usr_')).length, 0, 'no prefix matching');
    assert.equal((await ids('grp_x')).length, 1);

    // Combined with other filters and with the export, which shares them.
    const exp = await owner.get(
      `/api/v1/orgs/${orgId}/audit-events/export?format=ndjson&action=test.targeted&target=usr_a`,
    );
    assert.equal(exp.status, 200);
    const lines = exp.raw.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { targets: { id: string }[] });
    assert.equal(lines.length, 3);
  });

  test("another organization's events naming the same target id are never returned", async () => {
    const one = await t.seedOrg('Target One', 'owner@target-one.example');
    const two = await t.seedOrg('Target Two', 'owner@target-two.example');
    await write(one.orgId, [[{ type: 'user', id: 'usr_shared' }]]);
    await write(two.orgId, [[{ type: 'user', id: 'usr_shared' }], [{ type: 'user', id: 'usr_shared' }]]);
    const r1 = await one.owner.get(`/api/v1/orgs/${one.orgId}/audit-events?target=usr_shared`);
    assert.equal(r1.body.data.length, 1);
    assert.ok(r1.body.data.every((e: { orgId: string }) => e.orgId === one.orgId));
    const cross = await one.owner.get(`/api/v1/orgs/${two.orgId}/audit-events?target=usr_shared`);
    assert.equal(cross.status, 404);
  });

  test('pages of one target are read in order with stable cursors, alone or with other filters and a time range', async () => {
    const { orgId, owner } = await t.seedOrg('Target Pages', 'owner@target-pages.example');
    const start = t.clock.now().toISOString();
    for (let i = 0; i < 7; i++) {
      t.clock.advance(1000);
      await write(
        orgId,
        [[{ type: 'user', id: 'usr_paged' }], [{ type: 'user', id: 'usr_other' }]],
        i % 2 ? 'test.odd' : 'test.even',
      );
    }
    const all = async (qs: string) => {
      const seen: { id: string; seq: number; action: string }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: {
          status: number;
          body: { data: { id: string; seq: number; action: string }[]; nextCursor: string | null };
        } = await owner.get(
          `/api/v1/orgs/${orgId}/audit-events?target=usr_paged&limit=3${qs}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        assert.equal(res.status, 200);
        assert.ok(res.body.data.length <= 3);
        seen.push(...res.body.data);
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      return seen;
    };
    const desc = await all('');
    assert.deepEqual(
      desc.map((e) => e.seq),
      [...desc.map((e) => e.seq)].sort((a, b) => b - a),
    );
    assert.equal(new Set(desc.map((e) => e.id)).size, 7);
    const asc = await all('&order=asc');
    assert.deepEqual(
      asc.map((e) => e.id),
      [...desc.map((e) => e.id)].reverse(),
    );
    const odd = await all('&action=test.odd');
    assert.equal(odd.length, 3);
    assert.ok(odd.every((e) => e.action === 'test.odd'));
    const from = new Date(Date.parse(start) + 3500).toISOString();
    const late = await all(`&from=${encodeURIComponent(from)}`);
    assert.equal(late.length, 4);
    assert.deepEqual(
      late.map((e) => e.id),
      desc.slice(0, 4).map((e) => e.id),
    );
  });

  test('the retention purge removes the index rows of purged events', async () => {
    const { orgId } = await t.seedOrg('Target Purge', 'owner@target-purge.example');
    await write(orgId, [[{ type: 'user', id: 'usr_old' }], [{ type: 'user', id: 'usr_old' }]]);
    t.clock.advance(31 * DAY);
    await write(orgId, [[{ type: 'user', id: 'usr_old' }]]);
    assert.ok((await purgeOrg(t.system, orgId)) >= 2);
    const left = await t.db.database.db
      .selectFrom('audit_event_targets')
      .select('event_id')
      .where('org_id', '=', orgId)
      .where('target_id', '=', 'usr_old')
      .execute();
    assert.equal(left.length, 1);
    const owner = await t.login('owner@target-purge.example'); // a month on, the first session has expired
    const res = await owner.get(`/api/v1/orgs/${orgId}/audit-events?target=usr_old`);
    assert.equal(res.body.data.length, 1);
  });
});

describe('migration 0008 backfills the target index from stored events', () => {
  let database: Database;
  let cleanup: () => Promise<void>;
  before(async () => {
    const tag = `t_mig_${randomBytes(4).toString('hex')}`;
    if (TEST_DIALECT === 'postgres') {
      database = await openDatabase(PG_URL, { pgSchema: tag, pgPoolSize: 2 });
      cleanup = async () => {
        await database.close();
        await dropPostgresSchema(PG_URL, tag);
      };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'palisade-mig-'));
      database = await openDatabase(`sqlite:${join(dir, 'm.db')}`);
      cleanup = async () => {
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      };
    }
  });
  after(() => cleanup());

  test('events written before the index existed are found after migrating', async () => {
    await migrateTo(database, '0007_workspace');
    const row = (org: string, seq: number, targets: string) => ({
      id: `evt_${org}_${seq}`,
      org_id: org,
      seq,
      occurred_at: new Date(1_700_000_000_000 + seq).toISOString(),
      actor_type: 'system' as const,
      actor_id: 'test',
      actor_email: null,
      actor_ip: null,
      actor_user_agent: null,
      action: testAction('test.old'),
      targets,
      outcome: 'success' as const,
      metadata: '{}',
      request_id: null,
      prev_hash: '0'.repeat(64),
      hash: 'f'.repeat(64),
    });
    const rows = [];
    // More rows than one backfill batch, across two organizations, with odd targets JSON.
    for (let i = 1; i <= 5200; i++) rows.push(row('org_m1', i, JSON.stringify([{ type: 'user', id: `usr_${i % 7}` }])));
    rows.push(row('org_m2', 1, '[{"type":"user","id":"usr_1"},{"type":"user","id":"usr_1"},{"type":"x"}]'));
    rows.push(row('org_m2', 2, 'not json'));
    rows.push(row('org_m2', 3, '{"id":"usr_1"}'));
    for (let i = 0; i < rows.length; i += 200)
      await database.db
        .insertInto('audit_events')
        .values(rows.slice(i, i + 200))
        .execute();

    await migrateToLatest(database);
    const count = async (org: string, target: string) =>
      Number(
        (
          await database.db
            .selectFrom('audit_event_targets')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('org_id', '=', org)
            .where('target_id', '=', target)
            .executeTakeFirstOrThrow()
        ).n,
      );
    assert.equal(
      await count('org_m1', 'usr_3'),
      Array.from({ length: 5200 }, (_, k) => k + 1).filter((i) => i % 7 === 3).length,
    );
    assert.equal(await count('org_m2', 'usr_1'), 1, 'duplicates collapse; malformed JSON is skipped, not fatal');
    const total = Number(
      (
        await database.db
          .selectFrom('audit_event_targets')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    assert.equal(total, 5201);
  });
});
