import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allowlistMatcher, parseCidr } from '../../src/policy/network.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';

describe('per-organization IP allowlist for the workspace and gateway', () => {
  test('CIDR parsing and matching, IPv4, IPv6 and IPv4-mapped IPv6', () => {
    assert.equal(parseCidr('10.1.2.3').cidr, '10.1.2.3/32');
    assert.equal(parseCidr('2001:db8::/32').type, 'ipv6');
    for (const bad of ['10.0.0.0/33', 'example.com', '10.0.0/8', '::/129', '1.2.3.4/8/9', ''])
      assert.throws(
        () => parseCidr(bad),
        (e: { code?: string }) => e.code === 'invalid_cidr',
        bad,
      );
    const m = allowlistMatcher(['198.51.100.0/24', '2001:db8::/32']);
    assert.ok(m('198.51.100.200'));
    assert.ok(m('::ffff:198.51.100.7'));
    assert.ok(m('2001:db8:1::9'));
    assert.ok(!m('198.51.101.1'));
    assert.ok(!m('2001:db9::1'));
    assert.ok(!m('not-an-ip'));
  });

  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let key: string;
  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Fenced', 'owner@fenced.example'));
    await t.addMember(owner, orgId, 'm@fenced.example', 'member');
    key = (await (await t.login('m@fenced.example')).post(`/api/v1/orgs/${orgId}/gateway/keys`, { name: 'k' })).body
      .key;
  });
  after(() => t.close());

  const gateway = (ip: string) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/messages',
      remoteAddress: ip,
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      payload: { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
    });

  test('saving a list that excludes your own address needs confirmation; then other addresses are refused with the address named', async () => {
    const bad = await owner.patch(`/api/v1/orgs/${orgId}/workspace/settings`, {
      ipAllowlist: ['198.51.100.0/24', 'nonsense'],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_cidr');
    const refused = await owner.patch(`/api/v1/orgs/${orgId}/workspace/settings`, {
      ipAllowlist: ['198.51.100.0/24', '2001:db8::/32'],
    });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'allowlist_excludes_you');
    assert.match(refused.body.error.message, /203\.0\.113\.10/);
    const saved = await owner.patch(`/api/v1/orgs/${orgId}/workspace/settings`, {
      ipAllowlist: ['198.51.100.0/24', '2001:db8::/32'],
      confirmExcludesMe: true,
    });
    assert.equal(saved.status, 200);
    assert.deepEqual(saved.body.ipAllowlist, ['198.51.100.0/24', '2001:db8::/32']);

    const outside = await t.login('m@fenced.example', undefined, '203.0.113.10');
    const r = await outside.get(`/api/v1/orgs/${orgId}/conversations`);
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'ip_not_allowed');
    assert.match(r.body.error.message, /203\.0\.113\.10/);
    const inside = await t.login('m@fenced.example', undefined, '198.51.100.7');
    assert.equal((await inside.get(`/api/v1/orgs/${orgId}/conversations`)).status, 200);
    const v6 = await t.login('m@fenced.example', undefined, '2001:db8::5');
    assert.equal((await v6.post(`/api/v1/orgs/${orgId}/conversations`, { title: 'ok' })).status, 201);

    // The gateway refuses in Anthropic's shape; from inside it gets past the network check.
    const blocked = await gateway('203.0.113.10');
    assert.equal(blocked.statusCode, 403);
    assert.equal(blocked.json().error.type, 'permission_error');
    assert.match(blocked.json().error.message, /203\.0\.113\.10.*ip_not_allowed/s);
    const passed = await gateway('198.51.100.9');
    assert.equal(passed.json().error.message.includes('no_upstream_configured'), true);

    // Admin settings stay reachable from anywhere: the way back in. Clearing the list reopens access.
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}/workspace/settings`)).status, 200);
    assert.equal((await owner.patch(`/api/v1/orgs/${orgId}/workspace/settings`, { ipAllowlist: null })).status, 200);
    assert.equal((await outside.get(`/api/v1/orgs/${orgId}/conversations`)).status, 200);
    const ev = await t.db.database.db
      .selectFrom('audit_events')
      .select('metadata')
      .where('org_id', '=', orgId)
      .where('action', '=', 'workspace.settings_updated')
      .execute();
    assert.ok(ev.some((e) => JSON.parse(e.metadata).ipAllowlist?.to?.[0] === '198.51.100.0/24'));
    const blockedEvents = await t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('action', '=', 'network.request_blocked')
      .execute();
    assert.equal(blockedEvents.length, 2, 'the workspace and the gateway refusal');
    assert.ok(blockedEvents.every((e) => e.outcome === 'denied' && JSON.parse(e.metadata).ip === '203.0.113.10'));
  });
});
