import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { notificationPass } from '../../src/notifications/jobs.js';
import { scanAll } from '../../src/notifications/scan.js';
import { deliverDue } from '../../src/streams/deliver.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { Receiver } from './receivers.js';

const DAY = 86_400_000;

/** Notification types driven by the real detectors' audit events and by the scan job. */
describe('notification types from the detectors', () => {
  let t: TestApp;
  let org: { orgId: string; owner: Agent };
  const siem = new Receiver();
  const of = async (type: string) =>
    (await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications?type=${type}`)).body.data.reverse() as {
      phase: string;
      severity: string;
      title: string;
      facts: Record<string, any>;
      fix: string;
    }[];

  before(async () => {
    await siem.start();
    t = await createTestApp({ auditStreamsAllowHttp: true });
    org = await t.seedOrg('Types Co', 'owner@types.test');
    org.owner.bearer = (await org.owner.post('/api/v1/me/tokens', { name: 'types script' })).body.token;
    await notificationPass(t.system);
  });
  after(async () => {
    await t.close();
    await siem.stop();
  });

  test('a SIEM stream that fails opens one incident, is reminded daily, and is resolved once when it delivers again', async () => {
    await siem.stop();
    const s = await org.owner.post(`/api/v1/orgs/${org.orgId}/audit-streams`, {
      name: 'Lab SIEM',
      kind: 'webhook',
      url: `${siem.url}/in`,
    });
    assert.equal(s.status, 201, s.raw.body);
    await deliverDue(t.system);
    await notificationPass(t.system);
    // Failing again within the day: the same problem, nothing new.
    for (let i = 0; i < 3; i++) {
      t.clock.advance(10 * 60_000);
      await deliverDue(t.system);
      await notificationPass(t.system);
    }
    let got = await of('stream.failing');
    assert.deepEqual(
      got.map((n) => n.phase),
      ['alert'],
    );
    assert.equal(got[0]!.severity, 'warning');
    assert.equal(got[0]!.facts.stream, 'Lab SIEM');
    assert.match(
      got[0]!.fix,
      /could not be reached.*Nothing is lost: delivery resumes from the first undelivered event/,
    );
    t.clock.advance(DAY);
    await notificationPass(t.system);
    await siem.start();
    await deliverDue(t.system);
    await notificationPass(t.system);
    await notificationPass(t.system);
    got = await of('stream.failing');
    assert.deepEqual(
      got.map((n) => n.phase),
      ['alert', 'reminder', 'resolved'],
    );
    assert.match(got[1]!.title, /^Still failing since .*: SIEM stream Lab SIEM failed to deliver$/);
    assert.equal(got[2]!.title, 'SIEM stream Lab SIEM delivers again');
  });

  test('a new primary owner is announced with who did it', async () => {
    const { memberId } = await t.addMember(org.owner, org.orgId, 'second@types.test', 'admin');
    assert.equal(
      (await org.owner.patch(`/api/v1/orgs/${org.orgId}/members/${memberId}`, { role: 'primary_owner' })).status,
      200,
    );
    await notificationPass(t.system);
    const [n] = await of('member.primary_owner_added');
    assert.equal(n!.title, 'second@types.test is now a primary owner');
    assert.deepEqual([n!.facts.by, n!.facts.previousRole], ['owner@types.test', 'admin']);
  });

  test('key creation is announced for gateway keys and personal API tokens', async () => {
    await org.owner.post(`/api/v1/orgs/${org.orgId}/gateway/keys`, { name: 'ci robot' });
    await notificationPass(t.system);
    const titles = (await of('key.created')).map((n) => n.title);
    assert.ok(titles.includes('New personal API token "types script" created by owner@types.test'), titles.join(' | '));
    assert.ok(titles.includes('New gateway key "ci robot" created by owner@types.test'), titles.join(' | '));
  });

  test('SCIM: errors above the hourly threshold are reported once per hour; a token unused for 30 days once', async () => {
    const dir = await org.owner.post(`/api/v1/orgs/${org.orgId}/scim/directories`, { name: 'Okta' });
    assert.equal(dir.status, 201, dir.raw.body);
    const idp = t.anonymous();
    idp.bearer = dir.body.token;
    for (let i = 0; i < 10; i++) {
      const r = await idp.request(
        'POST',
        `/scim/v2/${dir.body.directory.id}/Users`,
        { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] },
        { 'content-type': 'application/scim+json' },
      );
      assert.equal(r.status, 400);
    }
    assert.deepEqual(await scanAll(t.system), { certificates: 0, scimErrors: 1, scimTokens: 0 });
    assert.deepEqual(await scanAll(t.system), { certificates: 0, scimErrors: 0, scimTokens: 0 }, 'once per hour');
    const [errors] = await of('scim.sync_errors');
    assert.equal(errors!.facts.failures, 10);
    assert.equal(errors!.facts.directory, 'Okta');
    assert.ok(
      errors!.fix.includes(errors!.facts.causes[0].explanation ?? 'see the sync log'),
      'the fix is the sync log explanation',
    );
    t.clock.advance(31 * DAY);
    assert.deepEqual(await scanAll(t.system), { certificates: 0, scimErrors: 0, scimTokens: 1 });
    assert.deepEqual(await scanAll(t.system), { certificates: 0, scimErrors: 0, scimTokens: 0 });
    const [unused] = await of('scim.token_unused');
    assert.match(unused!.title, /^SCIM token pls_scim_.*… of Okta has not been used for 30 days$/);
  });
});
