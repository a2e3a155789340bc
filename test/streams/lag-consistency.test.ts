import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordAuditBatch } from '../../src/audit/record.js';
import { sealOrganization } from '../../src/audit/seal.js';
import { readHealth } from '../../src/health/report.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { testAction } from '../helpers/audit-actions.js';

/**
 * With batched sealing a seal moves events from audit_pending into the chain, and the head forward,
 * in one transaction per 1,000 events. A destination's lag (what waits: sealed after the cursor,
 * plus not yet sealed) must read the same whenever it is read while that happens: read as two
 * statements, a batch committing between them made its events count in neither, and a stalled
 * destination read as caught up (CI, PostgreSQL).
 */
describe(`stream lag while events are being sealed (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let streamId: string;
  before(async () => {
    t = await createTestApp({ auditStreamsAllowHttp: true, auditSealing: 'batched' });
    ({ orgId, owner } = await t.seedOrg('Lagging', 'owner@lagging.example'));
    const created = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'hook',
      kind: 'webhook',
      url: 'https://siem.lagging.example/hook',
    });
    assert.equal(created.status, 201, created.raw.body);
    streamId = created.body.stream.id;
  });
  after(() => t.close());

  test('the destination view and /metrics count every waiting event exactly, sealed or not, during a seal', async () => {
    const before = (await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${streamId}`)).body.health.lag as number;
    const n = 20_000;
    await t.db.database.db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        t.system,
        Array.from({ length: n }, (_, i) => ({ orgId, action: testAction('test.activity'), metadata: { i } })),
      ),
    );
    const expected = before + n;
    const seen = new Set<number>();
    let reads = 0;
    let sealing = true;
    const seal = sealOrganization(t.db.database.db, orgId).finally(() => (sealing = false));
    do {
      const view = await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${streamId}`);
      seen.add(view.body.health.lag);
      const health = await readHealth({ database: t.db.database, clock: t.clock, config: t.config });
      seen.add(health.streams.find((s) => s.streamId === streamId)!.lag);
      reads += 2;
    } while (sealing);
    // The app's own sweep may seal part of the backlog alongside: either way all of it is sealed now.
    await seal;
    const pending = await t.db.database.db
      .selectFrom('audit_pending')
      .select('id')
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    assert.equal(pending, undefined, 'everything is sealed');
    assert.ok(reads >= 2, `read ${reads} times while sealing`);
    seen.add((await owner.get(`/api/v1/orgs/${orgId}/audit-streams/${streamId}`)).body.health.lag);
    assert.deepEqual([...seen], [expected], `lag read during the seal: ${[...seen].join(', ')}`);
  });
});
