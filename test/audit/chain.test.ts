import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { recordAudit } from '../../src/audit/record.js';
import { verifyChain } from '../../src/audit/verify.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';

const run = promisify(execFile);

/** Runs the real CLI against the test database, as an operator would. */
async function cli(t: TestApp, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: { ...process.env, DATABASE_URL: t.db.url, PALISADE_LOG_LEVEL: 'silent' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('audit hash chain', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  async function busyOrg(name: string) {
    const { orgId, owner } = await t.seedOrg(name, `owner@${name.toLowerCase()}.example`);
    const inv = await owner.post(`/api/v1/orgs/${orgId}/members`, {
      email: `a@${name.toLowerCase()}.example`,
      role: 'admin',
    });
    await owner.patch(`/api/v1/orgs/${orgId}/members/${inv.body.member.id}`, { role: 'member' });
    await owner.patch(`/api/v1/orgs/${orgId}`, { name: `${name} Inc` });
    await owner.delete(`/api/v1/orgs/${orgId}/members/${inv.body.member.id}`);
    return { orgId, owner };
  }

  test('every state change writes one event, with actor, targets and request id', async () => {
    const { orgId, owner } = await busyOrg('Trail');
    const res = await owner.get(`/api/v1/orgs/${orgId}/audit-events?order=asc`);
    assert.deepEqual(
      res.body.data.map((e: { action: string }) => e.action),
      [
        'org.created',
        'member.invited',
        'member.joined',
        'auth.password_set',
        'auth.login_succeeded',
        'member.invited',
        'member.role_changed',
        'org.updated',
        'member.removed',
      ],
    );
    const change = res.body.data.find((e: { action: string }) => e.action === 'member.role_changed');
    assert.equal(change.actor.type, 'user');
    assert.equal(change.actor.email, `owner@trail.example`);
    assert.deepEqual(change.metadata, { from: 'admin', to: 'member' });
    assert.equal(change.targets[0].name, 'a@trail.example');
    assert.match(change.requestId, /^req_/);
    assert.match(change.id, /^evt_/);
  });

  test('an intact chain verifies, through the API and the CLI', async () => {
    const { orgId, owner } = await busyOrg('Intact');
    const api = await owner.get(`/api/v1/orgs/${orgId}/audit-events/verify`);
    assert.equal(api.status, 200);
    assert.equal(api.body.ok, true);
    assert.equal(api.body.eventsChecked, 9);
    const out = await cli(t, 'audit', 'verify', '--org', orgId);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /OK: all 9 audit events/);
  });

  test('editing an audit row directly is caught, and the event is named', async () => {
    const { orgId } = await busyOrg('Edited');
    const victim = await t.db.database.db
      .selectFrom('audit_events')
      .select(['id', 'seq'])
      .where('org_id', '=', orgId)
      .where('action', '=', 'member.role_changed')
      .executeTakeFirstOrThrow();
    await t.db.database.db
      .updateTable('audit_events')
      .set({ metadata: '{"from":"admin","to":"primary_owner"}' })
      .where('id', '=', victim.id)
      .execute();
    const result = await verifyChain(t.db.database.db, orgId);
    assert.equal(result.ok, false);
    assert.equal(result.firstFailure?.eventId, victim.id);
    assert.equal(result.firstFailure?.problem, 'content_modified');
    assert.equal(result.eventsChecked, Number(victim.seq) - 1);
    const out = await cli(t, 'audit', 'verify', '--org', orgId);
    assert.equal(out.code, 1);
    assert.match(out.stdout, /TAMPERED/);
    assert.ok(out.stdout.includes(victim.id), out.stdout);
  });

  test('deleting, reordering or truncating events is caught', async () => {
    const db = t.db.database.db;
    const dropped = await busyOrg('Dropped');
    const third = await db
      .selectFrom('audit_events')
      .select(['id'])
      .where('org_id', '=', dropped.orgId)
      .where('seq', '=', 3)
      .executeTakeFirstOrThrow();
    await db.deleteFrom('audit_events').where('id', '=', third.id).execute();
    const r1 = await verifyChain(db, dropped.orgId);
    assert.equal(r1.firstFailure?.problem, 'sequence_gap');
    assert.equal(r1.firstFailure?.seq, 4);

    // Renumbering after a deletion hides the gap but not the broken link.
    const renumbered = await busyOrg('Renumbered');
    await db.deleteFrom('audit_events').where('org_id', '=', renumbered.orgId).where('seq', '=', 3).execute();
    await db
      .updateTable('audit_events')
      .set((eb) => ({ seq: eb('seq', '-', 1) }))
      .where('org_id', '=', renumbered.orgId)
      .where('seq', '>', 3)
      .execute();
    const r2 = await verifyChain(db, renumbered.orgId);
    assert.equal(r2.firstFailure?.problem, 'chain_broken');
    assert.equal(r2.firstFailure?.seq, 3);

    const truncated = await busyOrg('Truncated');
    await db.deleteFrom('audit_events').where('org_id', '=', truncated.orgId).where('seq', '=', 9).execute();
    const r3 = await verifyChain(db, truncated.orgId);
    assert.equal(r3.firstFailure?.problem, 'head_mismatch');
  });

  test('the event and the change commit together or not at all', async () => {
    const { orgId } = await t.seedOrg('Atomic', 'owner@atomic.example');
    const db = t.db.database.db;
    const before = await db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    await assert.rejects(
      db.transaction().execute(async (tx) => {
        await tx.updateTable('organizations').set({ name: 'Changed' }).where('id', '=', orgId).execute();
        await recordAudit(tx, t.system, { orgId, action: 'org.updated' });
        throw new Error('failure after the audit write');
      }),
    );
    const org = await db.selectFrom('organizations').select('name').where('id', '=', orgId).executeTakeFirstOrThrow();
    assert.equal(org.name, 'Atomic');
    const afterCount = await db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    assert.equal(Number(afterCount.n), Number(before.n));
    assert.equal((await verifyChain(db, orgId)).ok, true);
  });

  test('concurrent writers extend one unbroken chain', async () => {
    const { orgId, owner } = await t.seedOrg('Concurrent', 'owner@concurrent.example');
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        owner.post(`/api/v1/orgs/${orgId}/members`, { email: `c${i}@concurrent.example` }),
      ),
    );
    assert.ok(
      results.every((r) => r.status === 201),
      JSON.stringify(results.map((r) => r.status)),
    );
    const result = await verifyChain(t.db.database.db, orgId);
    assert.equal(result.ok, true, JSON.stringify(result.firstFailure));
    assert.equal(result.eventsChecked, 5 + 25);
  });

  test('search filters by action prefix, actor, outcome, target and time, with stable cursors', async () => {
    const { orgId, owner } = await busyOrg('Search');
    const start = t.clock.now().toISOString();
    t.clock.advance(60_000);
    const invites = [];
    for (let i = 0; i < 5; i++)
      invites.push(await owner.post(`/api/v1/orgs/${orgId}/members`, { email: `s${i}@search.example` }));
    const members = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=member.*`);
    assert.ok(members.body.data.every((e: { action: string }) => e.action.startsWith('member.')));
    assert.equal(members.body.data.length, 10);
    const exact = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=member.removed`);
    assert.equal(exact.body.data.length, 1);
    const byActor = await owner.get(
      `/api/v1/orgs/${orgId}/audit-events?actor=owner@search.example&action=member.invited`,
    );
    assert.equal(byActor.body.data.length, 6);
    const since = await owner.get(
      `/api/v1/orgs/${orgId}/audit-events?from=${encodeURIComponent(new Date(Date.parse(start) + 1).toISOString())}`,
    );
    assert.equal(since.body.data.length, 5);
    const target = await owner.get(`/api/v1/orgs/${orgId}/audit-events?target=${invites[2]!.body.member.userId}`);
    assert.equal(target.body.data.length, 1);
    assert.equal(target.body.data[0].targets[0].name, 's2@search.example');
    const failures = await owner.get(`/api/v1/orgs/${orgId}/audit-events?outcome=failure`);
    assert.equal(failures.body.data.length, 0);

    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: { id: string }[]; nextCursor: string | null } } = await owner.get(
        `/api/v1/orgs/${orgId}/audit-events?limit=4${cursor ? `&cursor=${cursor}` : ''}`,
      );
      pages.push(...res.body.data.map((e) => e.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.equal(pages.length, 14);
    assert.deepEqual(pages, [...pages].sort().reverse(), 'newest first, no duplicates or gaps');

    const bad = await owner.get(`/api/v1/orgs/${orgId}/audit-events?from=yesterday`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_time');
    const badRange = await owner.get(
      `/api/v1/orgs/${orgId}/audit-events?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`,
    );
    assert.equal(badRange.body.error.code, 'invalid_time_range');
  });

  test('the audit table stays append-only from the API: there is no route that edits or deletes events', async () => {
    const { orgId, owner } = await t.seedOrg('NoEdit', 'owner@noedit.example');
    const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events`);
    const id = events.body.data[0].id;
    for (const method of ['PATCH', 'PUT', 'DELETE'] as const) {
      const res = await owner.request(
        method,
        `/api/v1/orgs/${orgId}/audit-events/${id}`,
        method === 'DELETE' ? undefined : {},
      );
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'route_not_found');
    }
  });
});
