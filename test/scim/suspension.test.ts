import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MIGRATION_NAMES, migrateTo, migrateToLatest } from '../../src/db/migrate.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';
import { type OidcPeer, type PeerAccount, driveOidcLogin, startOidcPeer } from '../sso/oidc-peer.js';
import { PATCH_OP, type ScimClient, memberOf, newDirectory, user } from './helpers.js';

/**
 * SCIM deactivation (`active: false`, as Okta and Entra send it) suspends the membership instead of
 * deleting it: the role and history stay, every credential dies in the same request, and nothing
 * but the identity provider's reactivation gives the access back — not a password sign-in, not
 * auto-join, not SSO just-in-time provisioning, not another directory, not an admin while the
 * directory exists. SCIM DELETE still removes the membership.
 */
const PUBLIC = 'http://palisade.test';
const off = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] };
const on = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] };

async function modelCall(t: TestApp, headers: Record<string, string>) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    payload: { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'hello' }] },
  });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
}

describe('SCIM deactivation suspends the membership; reactivation restores it', () => {
  let t: TestApp;
  let up: ModelUpstream;
  let orgId: string;
  let owner: Agent;
  let scim: ScimClient;
  let directoryId: string;
  let carol: Agent;
  let carolMemberId: string;
  let carolScimId: string;
  let carolToken: string;
  let carolKey: string;
  const audit = async (query: string) =>
    (await owner.get(`/api/v1/orgs/${orgId}/audit-events?${query}`)).body.data as {
      action: string;
      metadata: Record<string, any>;
      targets: { type: string; id: string }[];
    }[];

  before(async () => {
    up = await startModelUpstream();
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    const mapping = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: null,
      rules: [
        { group: 'acme-admins', role: 'admin' },
        { group: 'acme-engineering', role: 'member' },
      ],
    });
    assert.equal(mapping.status, 200);
    const upstream = await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
      name: 'Loopback',
      kind: 'anthropic',
      baseUrl: up.url,
      apiKey: 'sk-upstream-test',
    });
    assert.equal(upstream.status, 200, upstream.raw.body);
    ({ scim, directoryId } = await newDirectory(t, owner, orgId, 'Okta'));
    // Carol was made admin by hand; the IdP's groups say nothing about her role.
    ({ agent: carol, memberId: carolMemberId } = await t.addMember(owner, orgId, 'carol@acme.example', 'admin'));
    carolToken = (await carol.post('/api/v1/me/tokens', { name: 'laptop' })).body.token;
    const key = await carol.post(`/api/v1/orgs/${orgId}/gateway/keys`, { name: 'cli' });
    assert.equal(key.status, 201, key.raw.body);
    carolKey = key.body.key;
    const linked = await scim.post('/Users', user('carol@acme.example'));
    assert.equal(linked.status, 201);
    carolScimId = linked.body.id;
  });
  after(async () => {
    await t.close();
    await up.close();
  });

  test('before: carol works everywhere with her role', async () => {
    assert.equal((await memberOf(owner, orgId, 'carol@acme.example'))?.role, 'admin');
    assert.equal((await modelCall(t, { 'x-api-key': carolKey })).status, 200, 'her gateway key works');
  });

  test('active:false keeps the membership as suspended, and every credential dies in the same request', async () => {
    const res = await scim.patch(`/Users/${carolScimId}`, off);
    assert.equal(res.status, 200);
    assert.equal(res.body.active, false);
    const m = await memberOf(owner, orgId, 'carol@acme.example');
    assert.equal(m?.id, carolMemberId, 'the same membership, not a new one');
    assert.equal(m?.status, 'suspended');
    assert.equal(m?.role, 'admin', 'the role is kept for reactivation');
    assert.deepEqual(
      { ...m?.suspension, at: undefined },
      {
        at: undefined,
        directoryId,
        directoryName: 'Okta',
        liftedBy: 'identity_provider',
        suspendedBy: [{ kind: 'scim', directoryId, directoryName: 'Okta' }],
      },
    );
    const suspendedOnly = await owner.get(`/api/v1/orgs/${orgId}/members?status=suspended`);
    assert.deepEqual(
      suspendedOnly.body.data.map((x: { email: string }) => x.email),
      ['carol@acme.example'],
    );
    assert.ok(
      !(await owner.get(`/api/v1/orgs/${orgId}/members?status=active`)).body.data.some(
        (x: { email: string }) => x.email === 'carol@acme.example',
      ),
    );
    assert.equal((await carol.get('/api/v1/auth/session')).status, 401, 'browser session revoked');
    assert.equal(
      (await t.anonymous().request('GET', '/api/v1/auth/session', undefined, { authorization: `Bearer ${carolToken}` }))
        .status,
      401,
      'API token revoked',
    );
    const gw = await modelCall(t, { 'x-api-key': carolKey });
    assert.equal(gw.status, 401, 'gateway key revoked');
    assert.equal(up.seen.length, 1, 'the upstream saw only the call made before');
    const [ev] = await audit('action=scim.user_deactivated');
    assert.ok(ev);
    assert.equal(ev.metadata.membershipId, carolMemberId);
    assert.ok(ev.targets.some((x) => x.type === 'membership' && x.id === carolMemberId));
    assert.equal(ev.metadata.membershipSuspended, true);
    assert.equal(ev.metadata.membershipRemoved, false);
    assert.deepEqual(
      [ev.metadata.sessionsRevoked, ev.metadata.tokensRevoked, ev.metadata.gatewayKeysRevoked],
      [1, 1, 1],
    );
    const log = await owner.get(`/api/v1/orgs/${orgId}/scim/directories/${directoryId}/sync-log?user=carol&limit=1`);
    assert.equal(log.body.data[0].outcome, 'success');
    assert.match(log.body.data[0].explanation, /suspended \(role admin kept for reactivation\)/);
  });

  test('a suspended person who signs in again gets nothing in the organization: API, workspace, gateway', async () => {
    const again = await t.login('carol@acme.example');
    // She knows the organization (it is listed under her memberships), so she is told why: membership_suspended.
    const refusals = [
      await again.get(`/api/v1/orgs/${orgId}`),
      await again.get(`/api/v1/orgs/${orgId}/members`),
      await again.get(`/api/v1/orgs/${orgId}/conversations`),
      await again.post(`/api/v1/orgs/${orgId}/gateway/keys`, { name: 'new' }),
    ];
    for (const r of refusals) {
      assert.equal(r.status, 403, r.raw.body);
      assert.equal(r.body.error.code, 'membership_suspended');
    }
    const viaSession = await again.request(
      'POST',
      '/v1/messages',
      { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] },
      { 'x-palisade-org': orgId, 'anthropic-version': '2023-06-01' },
    );
    assert.equal(viaSession.status, 403);
    const orgs = await again.get('/api/v1/orgs');
    assert.deepEqual(orgs.body.data, [], 'not listed among her organizations');
    const me = await again.get('/api/v1/me');
    assert.deepEqual(
      me.body.memberships.map((x: { orgId: string; status: string }) => [x.orgId, x.status]),
      [[orgId, 'suspended']],
      'she can see why',
    );
  });

  test('admins see the suspension but cannot lift it while the directory exists; re-inviting is refused too', async () => {
    const lift = await owner.patch(`/api/v1/orgs/${orgId}/members/${carolMemberId}`, { status: 'active' });
    assert.equal(lift.status, 409);
    assert.equal(lift.body.error.code, 'suspended_by_scim');
    assert.match(lift.body.error.message, /Reactivate them there/);
    assert.match(lift.body.error.message, /"Okta"/);
    assert.equal((await memberOf(owner, orgId, 'carol@acme.example'))?.status, 'suspended', 'nothing changed');
    const invite = await owner.post(`/api/v1/orgs/${orgId}/members`, { email: 'carol@acme.example', role: 'member' });
    assert.equal(invite.status, 409);
    assert.equal(invite.body.error.code, 'member_suspended');
    const unknown = await owner.patch(`/api/v1/orgs/${orgId}/members/${carolMemberId}`, { status: 'suspended' });
    assert.equal(unknown.status, 400, 'admins cannot set other statuses through this call');
    assert.equal(
      (await owner.patch(`/api/v1/orgs/${orgId}/members/${carolMemberId}`, {})).status,
      400,
      'an empty change is refused',
    );
  });

  test('active:true restores the same membership with the previous role when no mapping applies', async () => {
    const res = await scim.patch(`/Users/${carolScimId}`, on);
    assert.equal(res.status, 200);
    const m = await memberOf(owner, orgId, 'carol@acme.example');
    assert.equal(m?.id, carolMemberId);
    assert.equal(m?.status, 'active');
    assert.equal(m?.role, 'admin', 'not reset to member: her groups map to nothing, so the previous role comes back');
    assert.equal(m?.suspension, undefined);
    const [ev] = await audit('action=scim.user_reactivated');
    assert.ok(ev);
    assert.equal(ev.metadata.membershipId, carolMemberId);
    assert.deepEqual([ev.metadata.previousRole, ev.metadata.role], ['admin', 'admin']);
    const history = (await audit(`target=${carolMemberId}`)).map((e) => e.action);
    assert.ok(
      history.includes('scim.user_deactivated') && history.includes('scim.user_reactivated'),
      'one membership, one history',
    );
    const back = await t.login('carol@acme.example');
    assert.equal((await back.get(`/api/v1/orgs/${orgId}`)).body.yourRole, 'admin');
    assert.equal((await modelCall(t, { 'x-api-key': carolKey })).status, 401, 'revoked keys stay revoked');
  });

  test('reactivation applies the role the groups map to, including group changes made while suspended', async () => {
    const dan = await scim.post('/Users', user('dan@acme.example'));
    const eng = await scim.post('/Groups', { displayName: 'acme-engineering', members: [{ value: dan.body.id }] });
    assert.equal(eng.status, 201);
    assert.equal((await memberOf(owner, orgId, 'dan@acme.example'))?.role, 'member');
    assert.equal((await scim.patch(`/Users/${dan.body.id}`, off)).status, 200);
    const admins = await scim.post('/Groups', { displayName: 'acme-admins', members: [{ value: dan.body.id }] });
    assert.equal(admins.status, 201);
    const still = await memberOf(owner, orgId, 'dan@acme.example');
    assert.deepEqual(
      [still?.status, still?.role],
      ['suspended', 'member'],
      'a group change does not reactivate nor re-role a suspended person',
    );
    assert.equal((await scim.patch(`/Users/${dan.body.id}`, on)).status, 200);
    const back = await memberOf(owner, orgId, 'dan@acme.example');
    assert.deepEqual([back?.status, back?.role], ['active', 'admin']);
    const [ev] = await audit('action=scim.user_reactivated');
    assert.deepEqual([ev?.metadata.previousRole, ev?.metadata.role], ['member', 'admin']);
  });

  test('another directory of the organization does not lift the suspension; once the suspending directory is deleted, an admin can', async () => {
    const dan = (await scim.get(`/Users?filter=${encodeURIComponent('userName eq "dan@acme.example"')}`)).body
      .Resources[0];
    assert.equal((await scim.patch(`/Users/${dan.id}`, off)).status, 200);
    const other = await newDirectory(t, owner, orgId, 'Entra');
    const linked = await other.scim.post('/Users', user('dan@acme.example'));
    assert.equal(linked.status, 201);
    assert.equal(
      (await memberOf(owner, orgId, 'dan@acme.example'))?.status,
      'suspended',
      "the second directory does not undo the first one's deactivation",
    );
    const log = await owner.get(
      `/api/v1/orgs/${orgId}/scim/directories/${other.directoryId}/sync-log?cause=suspended_by_other_directory`,
    );
    assert.equal(log.body.data.length, 1);
    assert.match(log.body.data[0].explanation, /suspended in this organization by the SCIM directory "Okta"/);

    assert.equal((await owner.delete(`/api/v1/orgs/${orgId}/scim/directories/${directoryId}`)).status, 204);
    const orphan = await memberOf(owner, orgId, 'dan@acme.example');
    assert.equal(orphan?.status, 'suspended', 'deleting the directory keeps the suspension');
    assert.deepEqual([orphan?.suspension?.directoryName, orphan?.suspension?.liftedBy], [null, 'admin']);
    const { agent: helper } = await t.addMember(owner, orgId, 'helper@acme.example', 'member');
    assert.equal(
      (await helper.patch(`/api/v1/orgs/${orgId}/members/${orphan?.id}`, { status: 'active' })).status,
      403,
      'members cannot',
    );
    const lift = await owner.patch(`/api/v1/orgs/${orgId}/members/${orphan?.id}`, { status: 'active' });
    assert.equal(lift.status, 200, lift.raw.body);
    assert.deepEqual([lift.body.member.status, lift.body.member.role], ['active', 'admin']);
    const [ev] = await audit('action=member.reactivated');
    assert.equal(ev?.metadata.membershipId, orphan?.id);
    assert.equal(ev?.metadata.suspendedByDirectoryId, directoryId);
  });

  test('SCIM DELETE of a suspended person removes the membership', async () => {
    const d = await newDirectory(t, owner, orgId, 'Cleanup');
    const erin = await d.scim.post('/Users', user('erin@acme.example'));
    assert.equal((await d.scim.patch(`/Users/${erin.body.id}`, off)).status, 200);
    const suspended = await memberOf(owner, orgId, 'erin@acme.example');
    assert.equal(suspended?.status, 'suspended');
    assert.equal((await d.scim.delete(`/Users/${erin.body.id}`)).status, 204);
    assert.equal(await memberOf(owner, orgId, 'erin@acme.example'), null);
    const [ev] = await audit('action=scim.user_deleted');
    assert.equal(ev?.metadata.membershipId, suspended?.id);
    assert.equal(ev?.metadata.membershipRemoved, true);
    assert.equal(ev?.metadata.previousStatus, 'suspended');
  });
});

describe('a suspension survives the ways back in: auto-join and SSO just-in-time provisioning', () => {
  let t: TestApp;
  let peer: OidcPeer;
  let orgId: string;
  let owner: Agent;
  let scim: ScimClient;
  let connectionId: string;
  const accounts: Record<string, PeerAccount> = {
    frank: { email: 'frank@acme.example', groups: [] },
    gina: { email: 'gina@acme.example', groups: [] },
  };

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    peer = await startOidcPeer(`${PUBLIC}/sso/oidc/callback`, accounts);
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    ({ scim } = await newDirectory(t, owner, orgId));
    const conn = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Okta',
      preset: 'okta',
      oidc: { issuer: peer.issuer, clientId: peer.clientId, clientSecret: peer.clientSecret },
    });
    assert.equal(conn.status, 201, conn.raw.body);
    connectionId = conn.body.id;
    assert.equal(conn.body.jitEnabled, true, 'just-in-time provisioning is on');
  });
  after(async () => {
    await t.close();
    await peer.close();
  });

  const ssoLogin = async (login: string) => {
    const agent = t.anonymous();
    const start = await agent.get(`/sso/${connectionId}/start`);
    assert.equal(start.status, 302, start.raw.body);
    const callback = await driveOidcLogin(String(start.headers.location), login, PUBLIC);
    return { res: await agent.get(callback.slice(PUBLIC.length)), agent };
  };

  test('the identity provider still signs a deactivated person in: Palisade refuses, and JIT does not recreate the membership', async () => {
    const frank = await scim.post('/Users', user('frank@acme.example'));
    const first = await ssoLogin('frank');
    assert.equal(first.res.status, 303, first.res.raw.body);
    assert.equal((await scim.patch(`/Users/${frank.body.id}`, off)).status, 200);
    assert.equal(
      (await first.agent.get('/api/v1/auth/session')).status,
      401,
      'the SSO session died with the deactivation',
    );
    const again = await ssoLogin('frank');
    assert.equal(again.res.status, 403);
    assert.equal(again.res.headers['x-sso-error'], 'sso_membership_suspended');
    assert.match(again.res.raw.body, /suspended \(by your identity provider or by an administrator\)/);
    assert.equal(again.agent.cookie, undefined, 'no session');
    assert.equal((await memberOf(owner, orgId, 'frank@acme.example'))?.status, 'suspended');
    const sim = await owner.post(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}/simulate`, {
      claims: { email: 'frank@acme.example', sub: 'frank' },
    });
    assert.equal(sim.body.wouldSucceed, false);
    assert.equal(sim.body.failure.code, 'sso_membership_suspended');
    assert.equal((await scim.patch(`/Users/${frank.body.id}`, on)).status, 200);
    assert.equal((await ssoLogin('frank')).res.status, 303, 'reactivated in the IdP: SSO works again');
  });

  test('auto-join at a verified domain does not turn a suspended membership back into an active one', async () => {
    // Seeded as verified directly: this test is about auto-join, not DNS verification (test/domains covers that).
    const at = t.clock.now().toISOString();
    await t.db.database.db
      .insertInto('domains')
      .values({
        id: 'dom_suspensiontest0000000000',
        org_id: orgId,
        name: 'acme.example',
        unicode_name: 'acme.example',
        status: 'verified',
        include_subdomains: 0,
        auto_join: 1,
        token: 'palisade-verification=x',
        claim_key: 'acme.example',
        created_by: null,
        created_at: at,
        updated_at: at,
        verified_at: at,
        last_checked_at: at,
        last_good_check_at: at,
        failing_since: null,
        grace_until: null,
        expired_at: null,
        last_diagnosis: null,
      })
      .execute();
    const { agent: gina } = await t.addMember(owner, orgId, 'gina@acme.example', 'member');
    const g = await scim.post('/Users', user('gina@acme.example'));
    assert.equal((await scim.patch(`/Users/${g.body.id}`, off)).status, 200);
    assert.equal((await gina.get('/api/v1/auth/session')).status, 401);
    const back = await t.login('gina@acme.example');
    assert.equal(
      (await memberOf(owner, orgId, 'gina@acme.example'))?.status,
      'suspended',
      'still suspended after a password sign-in at the auto-join domain',
    );
    const refused = await back.get(`/api/v1/orgs/${orgId}`);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'membership_suspended');
    const joined = (await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=member.auto_joined`)).body.data;
    assert.equal(joined.length, 0);
  });
});

describe('the last active primary owner: a suspended owner does not count', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let scim: ScimClient;
  let directoryId: string;

  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    await t.addMember(owner, orgId, 'second@acme.example', 'primary_owner');
    ({ scim, directoryId } = await newDirectory(t, owner, orgId));
  });
  after(() => t.close());

  test('with the other owner suspended, SCIM cannot deactivate the remaining one and admins cannot demote or remove them', async () => {
    const first = await scim.post('/Users', user('owner@acme.example'));
    const second = await scim.post('/Users', user('second@acme.example'));
    assert.equal((await scim.patch(`/Users/${second.body.id}`, off)).status, 200);
    assert.deepEqual(
      [
        (await memberOf(owner, orgId, 'second@acme.example'))?.status,
        (await memberOf(owner, orgId, 'second@acme.example'))?.role,
      ],
      ['suspended', 'primary_owner'],
    );
    const refused = await scim.patch(`/Users/${first.body.id}`, off);
    assert.equal(refused.status, 200, 'the request succeeds for the IdP');
    assert.equal(
      (await memberOf(owner, orgId, 'owner@acme.example'))?.status,
      'active',
      'but the last active owner keeps access',
    );
    assert.equal((await owner.get('/api/v1/auth/session')).status, 200);
    const log = await owner.get(
      `/api/v1/orgs/${orgId}/scim/directories/${directoryId}/sync-log?cause=last_primary_owner`,
    );
    assert.equal(log.body.data.length, 1);
    const me = (await memberOf(owner, orgId, 'owner@acme.example'))!;
    const demote = await owner.patch(`/api/v1/orgs/${orgId}/members/${me.id}`, { role: 'admin' });
    assert.equal(demote.status, 409);
    assert.equal(demote.body.error.code, 'last_primary_owner');
    assert.equal((await owner.delete(`/api/v1/orgs/${orgId}/members/${me.id}`)).status, 409);
  });

  test('once the other owner is reactivated, the first can be suspended', async () => {
    const users = (await scim.get('/Users')).body.Resources as { id: string; userName: string }[];
    const second = users.find((u) => u.userName === 'second@acme.example')!;
    const first = users.find((u) => u.userName === 'owner@acme.example')!;
    assert.equal((await scim.patch(`/Users/${second.id}`, on)).status, 200);
    assert.deepEqual(
      [
        (await memberOf(owner, orgId, 'second@acme.example'))?.status,
        (await memberOf(owner, orgId, 'second@acme.example'))?.role,
      ],
      ['active', 'primary_owner'],
    );
    // The first owner's SCIM user is already inactive (the refused request stored it): send it active, then inactive again.
    assert.equal((await scim.patch(`/Users/${first.id}`, on)).status, 200);
    assert.equal((await scim.patch(`/Users/${first.id}`, off)).status, 200);
    const second2 = await t.login('second@acme.example');
    assert.equal((await memberOf(second2, orgId, 'owner@acme.example'))?.status, 'suspended');
  });
});

describe('migration 0012 on this dialect: reverting it falls back to the old semantics, re-applying works', () => {
  let t: TestApp;
  after(() => t.close());

  test('down removes suspended memberships (as deactivation used to) and the new columns; up brings them back', async () => {
    t = await createTestApp();
    const { orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example');
    const { scim } = await newDirectory(t, owner, orgId);
    const u = await scim.post('/Users', user('hal@acme.example'));
    assert.equal((await scim.patch(`/Users/${u.body.id}`, off)).status, 200);
    await t.app.inject({
      method: 'GET',
      url: `${scim.base}/Users`,
      headers: { authorization: 'Bearer pls_scim_wrong' },
    });
    const db = t.db.database.db;
    const previous = MIGRATION_NAMES[MIGRATION_NAMES.indexOf('0012_scim_suspension') - 1] as string;
    await migrateTo(t.db.database, previous);
    const rows = await db.selectFrom('memberships').select('status').where('org_id', '=', orgId).execute();
    assert.deepEqual(
      rows.map((r) => r.status),
      ['active'],
      'only the owner is left',
    );
    await assert.rejects(db.selectFrom('memberships').select('suspended_at').execute(), 'the column is gone');
    await assert.rejects(db.selectFrom('scim_sync_log').select('occurrences').execute());
    await migrateToLatest(t.db.database);
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}/members`)).status, 200);
    assert.equal(
      (await scim.patch(`/Users/${u.body.id}`, on)).status,
      200,
      'reactivation provisions the membership again',
    );
    assert.equal((await memberOf(owner, orgId, 'hal@acme.example'))?.status, 'active');
  });
});
