import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hotCacheOf } from '../../src/cache/hot-cache.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';
import { PATCH_OP, memberOf, newDirectory, user } from '../scim/helpers.js';
import { type OidcPeer, driveOidcLogin, startOidcPeer } from '../sso/oidc-peer.js';

const PUBLIC = 'http://palisade.test';

/**
 * An admin suspends a member (POST …/members/:id/suspend): the membership keeps its role and grants
 * nothing in that organization on any surface — the console and API by session or token, the
 * gateway by key (whose cached verdict the database triggers drop) — until an admin reactivates it.
 * Nothing installation-wide dies: the person's session and their other organizations stay.
 */
describe(`admin suspension of a member (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let up: ModelUpstream;
  let peer: OidcPeer;
  let orgId: string;
  let owner: Agent;
  let admin: Agent;
  let adminUserId: string;
  let bob: Agent;
  let bobMemberId: string;
  let bobToken: string;
  let bobKey: string;
  let otherOrgId: string;

  const modelCall = async (key: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      payload: { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] },
    });
    return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
  };
  const asToken = (token: string, url: string) =>
    t.anonymous().request('GET', url, undefined, { authorization: `Bearer ${token}` });
  const events = async (action: string) =>
    (await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=${action}`)).body.data as {
      action: string;
      actor: { id: string | null };
      metadata: Record<string, any>;
      targets: { type: string; id: string }[];
    }[];
  const statusOf = async (memberId: string, org = orgId, by = owner) =>
    ((await by.get(`/api/v1/orgs/${org}/members?limit=200`)).body.data as { id: string; status: string }[]).find(
      (m) => m.id === memberId,
    )?.status;

  before(async () => {
    up = await startModelUpstream();
    peer = await startOidcPeer(`${PUBLIC}/sso/oidc/callback`, { dave: { email: 'dave@acme.example', groups: [] } });
    t = await createTestApp({ publicUrl: PUBLIC });
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    const upstream = await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
      name: 'Loopback',
      kind: 'anthropic',
      baseUrl: up.url,
      apiKey: 'sk-upstream-test',
    });
    assert.equal(upstream.status, 200, upstream.raw.body);
    admin = (await t.addMember(owner, orgId, 'admin@acme.example', 'admin')).agent;
    adminUserId = (await admin.get('/api/v1/auth/session')).body.user.id;
    ({ agent: bob, memberId: bobMemberId } = await t.addMember(owner, orgId, 'bob@acme.example', 'member'));
    bobToken = (await bob.post('/api/v1/me/tokens', { name: 'script' })).body.token;
    const key = await bob.post(`/api/v1/orgs/${orgId}/gateway/keys`, { name: 'cli' });
    assert.equal(key.status, 201, key.raw.body);
    bobKey = key.body.key;
    // Bob also belongs to another company's organization.
    const other = await t.seedOrg('Other', 'owner@other.example');
    otherOrgId = other.orgId;
    const invited = await other.owner.post(`/api/v1/orgs/${otherOrgId}/members`, { email: 'bob@acme.example' });
    assert.equal(invited.status, 201, invited.raw.body);
    await t.acceptInvitations(bob);
  });
  after(async () => {
    await t.close();
    await up.close();
    await peer.close();
  });

  test('before: bob works in the organization by session, token and gateway key (the verdict is cached)', async () => {
    assert.equal((await bob.get(`/api/v1/orgs/${orgId}`)).status, 200);
    assert.equal((await asToken(bobToken, `/api/v1/orgs/${orgId}`)).status, 200);
    // Until the cache holds entries (PostgreSQL: once its listener listens and no local write is recent),
    // so that the refusal after the suspension proves the cached verdict was dropped.
    const cache = hotCacheOf(t.db.database.db);
    assert.ok(cache, 'the database opened by the app has a cache');
    const deadline = Date.now() + 6_000;
    for (;;) {
      assert.equal((await modelCall(bobKey)).status, 200);
      if (cache.size > 0) break;
      assert.ok(Date.now() < deadline, 'the gateway cache stays empty');
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  test('an admin suspends bob: every surface of the organization refuses him with membership_suspended at once', async () => {
    const res = await admin.post(`/api/v1/orgs/${orgId}/members/${bobMemberId}/suspend`, { reason: 'laptop stolen' });
    assert.equal(res.status, 200, res.raw.body);
    assert.equal(res.body.member.status, 'suspended');
    assert.equal(res.body.member.role, 'member', 'the role is kept for reactivation');
    assert.deepEqual(res.body.member.suspension.suspendedBy, [
      { kind: 'admin', userId: adminUserId, email: 'admin@acme.example' },
    ]);
    assert.equal(res.body.member.suspension.liftedBy, 'admin');
    assert.equal(res.body.member.suspension.directoryId, null);
    assert.deepEqual(res.body.warnings, []);

    const api = await bob.get(`/api/v1/orgs/${orgId}`);
    assert.equal(api.status, 403);
    assert.equal(api.body.error.code, 'membership_suspended');
    assert.match(api.body.error.message, /Ask an administrator of the organization/);
    const workspace = await bob.get(`/api/v1/orgs/${orgId}/conversations`);
    assert.equal(workspace.status, 403, workspace.raw.body);
    assert.equal(workspace.body.error.code, 'membership_suspended');
    const token = await asToken(bobToken, `/api/v1/orgs/${orgId}`);
    assert.equal(token.status, 403);
    assert.equal(token.body.error.code, 'membership_suspended');
    const gw = await modelCall(bobKey);
    assert.equal(gw.status, 403, JSON.stringify(gw.body));
    assert.match(JSON.stringify(gw.body), /suspended/);
    const seen = up.seen.length;
    assert.equal((await modelCall(bobKey)).status, 403);
    assert.equal(up.seen.length, seen, 'a refused call never reaches the model provider');
    const orgs = await bob.get('/api/v1/orgs');
    assert.ok(!orgs.body.data.some((o: { id: string }) => o.id === orgId), 'the organization is not listed as his');

    // Installation-wide credentials and his other organization are untouched.
    assert.equal((await bob.get('/api/v1/auth/session')).status, 200, 'his session lives');
    assert.equal((await bob.get(`/api/v1/orgs/${otherOrgId}`)).status, 200, 'his other organization works');
    assert.equal((await asToken(bobToken, `/api/v1/orgs/${otherOrgId}`)).status, 200, 'his token works there');

    const [ev] = await events('member.suspended');
    assert.equal(ev?.actor.id, adminUserId);
    assert.equal(ev?.metadata.reason, 'laptop stolen');
    assert.ok(ev?.targets.some((x) => x.type === 'membership' && x.id === bobMemberId));
    const filtered = await owner.get(`/api/v1/orgs/${orgId}/members?status=suspended`);
    assert.deepEqual(
      filtered.body.data.map((m: { email: string }) => m.email),
      ['bob@acme.example'],
    );
  });

  test('suspending him again is refused and changes nothing', async () => {
    const res = await owner.post(`/api/v1/orgs/${orgId}/members/${bobMemberId}/suspend`);
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'already_suspended');
    assert.match(res.body.error.message, /admin@acme\.example/);
    assert.equal((await events('member.suspended')).length, 1);
  });

  test('reactivation restores every surface, the same gateway key included', async () => {
    const res = await admin.post(`/api/v1/orgs/${orgId}/members/${bobMemberId}/reactivate`);
    assert.equal(res.status, 200, res.raw.body);
    assert.equal(res.body.member.status, 'active');
    assert.equal(res.body.member.suspension, undefined);
    assert.equal((await bob.get(`/api/v1/orgs/${orgId}`)).status, 200);
    assert.equal((await asToken(bobToken, `/api/v1/orgs/${orgId}`)).status, 200);
    assert.equal((await modelCall(bobKey)).status, 200);
    const [ev] = await events('member.reactivated');
    assert.equal(ev?.actor.id, adminUserId);
    assert.equal(ev?.metadata.reason, 'admin_suspension_lifted');
    assert.equal(ev?.metadata.suspendedByUserId, adminUserId);
    const again = await admin.post(`/api/v1/orgs/${orgId}/members/${bobMemberId}/reactivate`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'member_not_suspended');
  });

  test('who may not: a member, an admin against an owner, anyone against themselves, an invitation', async () => {
    const { agent: carol, memberId: carolId } = await t.addMember(owner, orgId, 'carol@acme.example', 'member');
    const ownerId = (await memberOf(owner, orgId, 'owner@acme.example'))!.id;
    const adminId = (await memberOf(owner, orgId, 'admin@acme.example'))!.id;
    const invited = await owner.post(`/api/v1/orgs/${orgId}/members`, { email: 'pending@acme.example' });
    const before = (await events('member.suspended')).length;
    const cases: [string, Agent, string, number, string, RegExp][] = [
      ['member', carol, bobMemberId, 403, 'missing_permission_members_manage', /admin or primary owner/],
      ['admin → owner', admin, ownerId, 403, 'missing_permission_owners_manage', /primary owner/],
      ['admin → self', admin, adminId, 409, 'cannot_suspend_self', /your own membership/],
      ['owner → self', owner, ownerId, 409, 'cannot_suspend_self', /your own membership/],
      ['invitation', owner, invited.body.member.id, 409, 'invitation_not_suspendable', /Remove the invitation/],
    ];
    for (const [what, who, target, status, code, message] of cases) {
      const res = await who.post(`/api/v1/orgs/${orgId}/members/${target}/suspend`);
      assert.equal(res.status, status, what);
      assert.equal(res.body.error.code, code, what);
      assert.match(res.body.error.message, message, what);
    }
    assert.equal(await statusOf(bobMemberId), 'active');
    assert.equal(await statusOf(ownerId), 'active');
    assert.equal(await statusOf(adminId), 'active');
    assert.equal((await events('member.suspended')).length, before, 'no refusal suspended anyone');
    // Reactivation follows the same rule: a member cannot, an admin cannot lift an owner's suspension.
    const suspendCarol = await admin.post(`/api/v1/orgs/${orgId}/members/${carolId}/suspend`);
    assert.equal(suspendCarol.status, 200);
    const byBob = await bob.post(`/api/v1/orgs/${orgId}/members/${carolId}/reactivate`);
    assert.equal(byBob.status, 403);
    assert.equal(byBob.body.error.code, 'missing_permission_members_manage');
    assert.equal(await statusOf(carolId), 'suspended');
  });

  test('an owner may suspend another owner, but never the last active one (inherited owners included)', async () => {
    const second = await t.addMember(owner, orgId, 'owner2@acme.example', 'primary_owner');
    const res = await owner.post(`/api/v1/orgs/${orgId}/members/${second.memberId}/suspend`);
    assert.equal(res.status, 200, res.raw.body);
    const byAdmin = await admin.post(`/api/v1/orgs/${orgId}/members/${second.memberId}/reactivate`);
    assert.equal(byAdmin.status, 403);
    assert.equal(byAdmin.body.error.code, 'missing_permission_owners_manage');
    assert.equal((await owner.post(`/api/v1/orgs/${orgId}/members/${second.memberId}/reactivate`)).status, 200);

    // In a child organization the parent's owner administers by inheritance; its one direct owner is the last.
    const child = await owner.post(`/api/v1/orgs/${orgId}/children`, { name: 'Acme EU' });
    assert.equal(child.status, 201);
    const childOwner = await t.addMember(owner, child.body.id, 'eu-owner@acme.example', 'primary_owner');
    const last = await owner.post(`/api/v1/orgs/${child.body.id}/members/${childOwner.memberId}/suspend`);
    assert.equal(last.status, 409);
    assert.equal(last.body.error.code, 'last_primary_owner');
    assert.equal(await statusOf(childOwner.memberId, child.body.id), 'active');
    // The parent's owner is also a direct member there: suspending them warns that the parent's role still applies.
    const direct = await t.addMember(childOwner.agent, child.body.id, 'admin@acme.example', 'member');
    const warned = await childOwner.agent.post(`/api/v1/orgs/${child.body.id}/members/${direct.memberId}/suspend`);
    assert.equal(warned.status, 200, warned.raw.body);
    assert.equal(warned.body.warnings[0]?.code, 'access_inherited');
    assert.match(warned.body.warnings[0]?.message, /admin of the parent organization "Acme"/);
  });

  test('an admin of another organization cannot suspend or reactivate a member here (404, nothing changes)', async () => {
    const b = await t.seedOrg('Beta', 'owner@beta.example');
    const betaAdmin = (await t.addMember(b.owner, b.orgId, 'admin@beta.example', 'admin')).agent;
    for (const path of ['suspend', 'reactivate']) {
      const direct = await betaAdmin.post(`/api/v1/orgs/${orgId}/members/${bobMemberId}/${path}`);
      assert.equal(direct.status, 404, path);
      assert.match(direct.body.error.message, /No organization with that id/, path);
      const viaOwnOrg = await betaAdmin.post(`/api/v1/orgs/${b.orgId}/members/${bobMemberId}/${path}`);
      assert.equal(viaOwnOrg.status, 404, path);
      assert.match(viaOwnOrg.body.error.message, /No member with that id/, path);
    }
    assert.equal(await statusOf(bobMemberId), 'active');
    const beta = await b.owner.get(`/api/v1/orgs/${b.orgId}/audit-events?action=member.suspended`);
    assert.equal(beta.status, 200);
    assert.equal(beta.body.data.length, 0);
  });

  test("a SCIM suspension is the identity provider's to lift; an admin suspension on top outlasts the IdP's reactivation", async () => {
    const { scim, directoryId } = await newDirectory(t, owner, orgId, 'Okta');
    const linked = await scim.post('/Users', user('dave@acme.example', { displayName: 'Dave' }));
    assert.equal(linked.status, 201, JSON.stringify(linked.body));
    const dave = await memberOf(owner, orgId, 'dave@acme.example');
    assert.equal(dave?.status, 'active');
    const off = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] };
    const on = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] };
    assert.equal((await scim.patch(`/Users/${linked.body.id}`, off)).status, 200);
    const byScim = (await owner.get(`/api/v1/orgs/${orgId}/members?status=suspended&q=dave`)).body.data[0];
    assert.deepEqual(byScim.suspension.suspendedBy, [{ kind: 'scim', directoryId, directoryName: 'Okta' }]);
    const lift = await owner.post(`/api/v1/orgs/${orgId}/members/${dave!.id}/reactivate`);
    assert.equal(lift.status, 409);
    assert.equal(lift.body.error.code, 'suspended_by_scim');
    // The admin adds their own suspension; the IdP's reactivation lifts only the IdP's part.
    const also = await admin.post(`/api/v1/orgs/${orgId}/members/${dave!.id}/suspend`);
    assert.equal(also.status, 200, also.raw.body);
    assert.deepEqual(
      also.body.member.suspension.suspendedBy.map((s: { kind: string }) => s.kind),
      ['admin', 'scim'],
    );
    assert.equal((await scim.patch(`/Users/${linked.body.id}`, on)).status, 200);
    const after = await memberOf(owner, orgId, 'dave@acme.example');
    assert.equal(after?.status, 'suspended', 'the IdP does not lift an admin suspension');
    assert.deepEqual(
      (after as any).suspension.suspendedBy.map((s: { kind: string }) => s.kind),
      ['admin'],
    );
    const log = await owner.get(
      `/api/v1/orgs/${orgId}/scim/directories/${directoryId}/sync-log?cause=suspended_by_admin`,
    );
    assert.equal(log.status, 200, log.raw.body);
    assert.equal(log.body.data.length, 1);
    const back = await admin.post(`/api/v1/orgs/${orgId}/members/${dave!.id}/reactivate`);
    assert.equal(back.status, 200, back.raw.body);
    assert.equal(back.body.member.status, 'active');
  });

  test('a suspended member cannot sign in to the organization through its SSO; reactivated, they can', async () => {
    const conn = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Okta',
      preset: 'okta',
      oidc: { issuer: peer.issuer, clientId: peer.clientId, clientSecret: peer.clientSecret },
    });
    assert.equal(conn.status, 201, conn.raw.body);
    const ssoLogin = async () => {
      const agent = t.anonymous();
      const start = await agent.get(`/sso/${conn.body.id}/start`);
      assert.equal(start.status, 302, start.raw.body);
      const callback = await driveOidcLogin(String(start.headers.location), 'dave', PUBLIC);
      return agent.get(callback.slice(PUBLIC.length));
    };
    assert.equal((await ssoLogin()).status, 303, 'dave (provisioned by SCIM above) signs in through SSO');
    const dave = await memberOf(owner, orgId, 'dave@acme.example');
    assert.equal((await admin.post(`/api/v1/orgs/${orgId}/members/${dave!.id}/suspend`)).status, 200);
    const refused = await ssoLogin();
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['x-sso-error'], 'sso_membership_suspended');
    assert.match(refused.raw.body, /suspended \(by your identity provider or by an administrator\)/);
    assert.equal((await memberOf(owner, orgId, 'dave@acme.example'))?.status, 'suspended', 'JIT did not reactivate');
    assert.equal((await admin.post(`/api/v1/orgs/${orgId}/members/${dave!.id}/reactivate`)).status, 200);
    assert.equal((await ssoLogin()).status, 303);
  });
});
