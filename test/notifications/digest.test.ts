import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sendDigests } from '../../src/notifications/digest.js';
import { notificationPass } from '../../src/notifications/jobs.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';

/** The optional daily digest: info notifications of a digest email channel wait for one daily message; warnings go at once. */
describe('the daily digest', () => {
  let t: TestApp;
  let org: { orgId: string; owner: Agent };

  before(async () => {
    t = await createTestApp();
    org = await t.seedOrg('Digest Co', 'owner@digest.test');
    await notificationPass(t.system);
    const ch = await org.owner.post(`/api/v1/orgs/${org.orgId}/notifications/channels`, {
      name: 'Security team',
      kind: 'email',
      recipients: ['sec@digest.test'],
      digest: true,
    });
    assert.equal(ch.status, 201, ch.raw.body);
    assert.equal(ch.body.channel.digest, true);
    assert.equal(
      (
        await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/notifications/routing`, {
          routes: [{ type: '*', channelId: ch.body.channel.id }],
        })
      ).status,
      200,
    );
    const bad = await org.owner.post(`/api/v1/orgs/${org.orgId}/notifications/channels`, {
      name: 'Hook',
      kind: 'webhook',
      url: 'https://hooks.example.com/x',
      digest: true,
    });
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'notification_channel_field_not_allowed']);
  });
  after(() => t.close());

  test('info notifications wait for the digest, a warning goes at once, and the digest lists each once', async () => {
    for (const name of ['robot one', 'robot two'])
      await org.owner.post(`/api/v1/orgs/${org.orgId}/gateway/keys`, { name });
    const { memberId } = await t.addMember(org.owner, org.orgId, 'deputy@digest.test', 'admin');
    await org.owner.patch(`/api/v1/orgs/${org.orgId}/members/${memberId}`, { role: 'primary_owner' });
    await notificationPass(t.system);
    const held = (await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications/deliveries?status=digest`)).body.data;
    assert.equal(held.length, 2);
    const warning = await t.lastEmail('sec@digest.test', 'notification');
    assert.match(warning!.subject, /^\[Palisade\] Notice: deputy@digest\.test is now a primary owner$/);
    assert.deepEqual(await sendDigests(t.system), { digests: 1, notifications: 2 });
    assert.deepEqual(await sendDigests(t.system), { digests: 0, notifications: 0 }, 'never twice');
    const digest = await t.lastEmail('sec@digest.test', 'notification_digest');
    assert.equal(digest!.subject, '[Palisade] Daily digest: 2 notifications');
    assert.match(digest!.text, /New gateway key "robot one" created by owner@digest\.test/);
    assert.match(digest!.text, /New gateway key "robot two" created by owner@digest\.test/);
    assert.ok(digest!.links.includes(`http://palisade.test/api/v1/orgs/${org.orgId}/notifications`));
    assert.deepEqual(
      (await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications/deliveries?status=digest`)).body.data,
      [],
    );
  });
});
