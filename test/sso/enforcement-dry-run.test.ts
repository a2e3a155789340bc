import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type OidcPeer, type PeerAccount, driveOidcLogin, startOidcPeer } from './oidc-peer.js';

const PUBLIC = 'http://palisade.test';

interface DryRun {
  connection: { id: string; name: string; status: string };
  ready: boolean;
  missing: string[];
  testLogin: { lastAt: string | null; maxAgeDays: number; recent: boolean };
  breakGlassOwners: { email: string; status: string; ready: boolean }[];
  losePasswordSignIn: { email: string; role: string; hasSsoIdentity: boolean; keepsBreakGlass: boolean }[];
  withoutSsoIdentity: { email: string; role: string; hasPassword: boolean }[];
  totals: { members: number; losePasswordSignIn: number; withoutSsoIdentity: number };
  warnings: { email: string; source: string; problem: string }[];
}

/**
 * The SSO enforcement dry run (POST …/sso/enforcement/dry-run) and the owners' break-glass status
 * (GET …/sso/break-glass): what enforcing would do, measured the way PUT …/sso/enforcement measures
 * it, with nothing changed; only an admin or primary owner of that organization may ask. A real
 * OIDC provider (panva's oidc-provider) gives the test login and the SSO identity.
 */
describe('SSO enforcement dry run', () => {
  let t: TestApp;
  let peer: OidcPeer;
  let orgId: string;
  let owner: Agent;
  let admin: Agent;
  let member: Agent;
  let globex: { orgId: string; owner: Agent };
  let connectionId: string;
  let globexConnectionId: string;
  const accounts: Record<string, PeerAccount> = {
    owner: { email: 'owner@acme.example', groups: [] },
  };
  const dryRun = (agent: Agent, org = orgId, body: unknown = { connectionId }) =>
    agent.post(`/api/v1/orgs/${org}/sso/enforcement/dry-run`, body);
  /** Every trace enforcement would leave: its row, its audit events, the guard's acknowledgements. */
  const traces = async () => ({
    rows: (await t.db.database.db.selectFrom('sso_enforcement').selectAll().execute()).length,
    events: (await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.*&limit=100`)).body.data.length,
    warnings: (await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=lockout_warning.*&limit=100`)).body.data
      .length,
    enforced: (await owner.get(`/api/v1/orgs/${orgId}/sso/enforcement`)).body.enforced,
  });

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    peer = await startOidcPeer(`${PUBLIC}/sso/oidc/callback`, accounts);
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    admin = (await t.addMember(owner, orgId, 'admin@acme.example', 'admin')).agent;
    member = (await t.addMember(owner, orgId, 'member@acme.example', 'member')).agent;
    globex = await t.seedOrg('Globex', 'owner@globex.example');
    const created = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Okta',
      oidc: { issuer: peer.issuer, clientId: peer.clientId, clientSecret: peer.clientSecret },
    });
    assert.equal(created.status, 201, created.raw.body);
    connectionId = created.body.id;
    const theirs = await globex.owner.post(`/api/v1/orgs/${globex.orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Globex IdP',
      oidc: { issuer: 'https://idp.globex.example', clientId: 'globex', clientSecret: 'globex-secret' },
    });
    assert.equal(theirs.status, 201, theirs.raw.body);
    globexConnectionId = theirs.body.id;
  });
  after(async () => {
    await t.close();
    await peer.close();
  });

  test('before a test login and break-glass: not ready, with the same reasons enforcing gives, and nothing changes', async () => {
    const before = await traces();
    const res = await dryRun(owner);
    assert.equal(res.status, 200, res.raw.body);
    const d = res.body as DryRun;
    assert.deepEqual(d.connection, { id: connectionId, name: 'Okta', status: 'active' });
    assert.equal(d.ready, false);
    assert.deepEqual(d.testLogin, { lastAt: null, maxAgeDays: t.config.ssoTestLoginMaxAgeDays, recent: false });
    assert.deepEqual(
      d.breakGlassOwners.map((o) => [o.email, o.status, o.ready]),
      [['owner@acme.example', 'no_authenticator', false]],
    );
    // The refusal of the real change lists the same things missing.
    const refused = await owner.request('PUT', `/api/v1/orgs/${orgId}/sso/enforcement`, { connectionId });
    assert.equal(refused.body.error.code, 'sso_enforcement_not_ready');
    assert.deepEqual(d.missing, refused.body.error.details.missing);
    assert.equal(d.missing.length, 2);
    // Everyone signs in with a password today and nobody through Okta.
    assert.deepEqual(
      d.losePasswordSignIn.map((p) => [p.email, p.role, p.hasSsoIdentity, p.keepsBreakGlass]),
      [
        ['admin@acme.example', 'admin', false, false],
        ['member@acme.example', 'member', false, false],
        ['owner@acme.example', 'primary_owner', false, false],
      ],
    );
    assert.deepEqual(
      d.withoutSsoIdentity.map((p) => p.email),
      ['admin@acme.example', 'member@acme.example', 'owner@acme.example'],
    );
    assert.deepEqual(d.totals, { members: 3, losePasswordSignIn: 3, withoutSsoIdentity: 3 });
    assert.deepEqual(await traces(), before, 'no enforcement row, no audit event, still not enforced');
  });

  test('only an admin or primary owner of the organization may ask; another organization gets 404', async () => {
    assert.equal((await dryRun(admin)).status, 200);
    assert.equal((await admin.get(`/api/v1/orgs/${orgId}/sso/break-glass`)).status, 200);
    for (const res of [await dryRun(member), await member.get(`/api/v1/orgs/${orgId}/sso/break-glass`)]) {
      assert.equal(res.status, 403, res.raw.body);
      assert.equal(res.body.error.code, 'missing_permission_sso_manage');
    }
    // Globex's owner: Acme's organization, with Acme's connection, is not found; nor is Acme's
    // connection named from Globex's own organization.
    for (const res of [
      await dryRun(globex.owner),
      await globex.owner.get(`/api/v1/orgs/${orgId}/sso/break-glass`),
      await dryRun(globex.owner, globex.orgId),
    ]) {
      assert.equal(res.status, 404, res.raw.body);
      assert.ok(!res.raw.body.includes('owner@acme.example') && !res.raw.body.includes('Okta'), res.raw.body);
    }
    assert.equal((await dryRun(owner, orgId, { connectionId: globexConnectionId })).status, 404);
    assert.equal(
      (await t.anonymous().post(`/api/v1/orgs/${orgId}/sso/enforcement/dry-run`, { connectionId })).status,
      401,
    );
  });

  test("each primary owner's break-glass status: enrolling an authenticator makes it ready", async () => {
    const before = await owner.get(`/api/v1/orgs/${orgId}/sso/break-glass`);
    assert.equal(before.status, 200, before.raw.body);
    assert.equal(before.body.anyReady, false);
    assert.deepEqual(
      before.body.owners.map((o: { email: string; status: string }) => [o.email, o.status]),
      [['owner@acme.example', 'no_authenticator']],
    );
    const start = await owner.post('/api/v1/me/totp');
    assert.equal(start.status, 201);
    const code = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(start.body.secret), digits: 6, period: 30 });
    // Started but not confirmed: not yet break-glass.
    assert.equal((await admin.get(`/api/v1/orgs/${orgId}/sso/break-glass`)).body.owners[0].status, 'no_authenticator');
    assert.equal(
      (await owner.post('/api/v1/me/totp/confirm', { code: code.generate({ timestamp: t.clock.now().getTime() }) }))
        .status,
      200,
    );
    const after = await admin.get(`/api/v1/orgs/${orgId}/sso/break-glass`);
    assert.deepEqual(
      after.body.owners.map((o: { email: string; status: string; ready: boolean }) => [o.email, o.status, o.ready]),
      [['owner@acme.example', 'ready', true]],
    );
    assert.equal(after.body.anyReady, true);
    assert.ok(!after.raw.body.includes(start.body.secret), 'nothing of the secret');
  });

  test('after a test login: ready, who keeps a way in, and the lockout guard answers as enforcing would', async () => {
    const start = await owner.get(`/sso/${connectionId}/start?test=1`);
    assert.equal(start.status, 302, start.raw.body);
    const callback = await driveOidcLogin(String(start.headers.location), 'owner', PUBLIC);
    const done = await owner.get(callback.slice(PUBLIC.length));
    assert.equal(done.status, 303, done.raw.body);
    owner = await t.login('owner@acme.example');

    const before = await traces();
    const res = await dryRun(owner);
    assert.equal(res.status, 200, res.raw.body);
    const d = res.body as DryRun;
    assert.equal(d.ready, true, JSON.stringify(d.missing));
    assert.deepEqual(d.missing, []);
    assert.equal(d.testLogin.recent, true);
    assert.ok(d.testLogin.lastAt);
    assert.deepEqual(
      d.losePasswordSignIn.map((p) => [p.email, p.hasSsoIdentity, p.keepsBreakGlass]),
      [
        ['admin@acme.example', false, false],
        ['member@acme.example', false, false],
        ['owner@acme.example', true, true],
      ],
    );
    assert.deepEqual(
      d.withoutSsoIdentity.map((p) => [p.email, p.hasPassword]),
      [
        ['admin@acme.example', true],
        ['member@acme.example', true],
      ],
    );
    const lockedOut = d.warnings.map((w) => [w.email, w.problem]).sort();
    assert.deepEqual(lockedOut, [
      ['admin@acme.example', 'would_fail'],
      ['member@acme.example', 'would_fail'],
    ]);
    assert.deepEqual(await traces(), before, 'the dry run changed nothing');
    // The real change finds the same people.
    const guarded = await owner.request('PUT', `/api/v1/orgs/${orgId}/sso/enforcement`, { connectionId });
    assert.equal(guarded.body.error.code, 'sso_change_would_lock_out');
    assert.deepEqual(
      guarded.body.error.details.warnings.map((w: { email: string; problem: string }) => [w.email, w.problem]).sort(),
      lockedOut,
    );
  });

  test('a test login older than the allowed age makes the dry run not ready again', async () => {
    t.clock.advance((t.config.ssoTestLoginMaxAgeDays + 1) * 86_400_000);
    owner = await t.login('owner@acme.example');
    const d = (await dryRun(owner)).body as DryRun;
    assert.equal(d.ready, false);
    assert.equal(d.testLogin.recent, false);
    assert.equal(d.missing.length, 1);
    assert.match(d.missing[0]!, /older than/);
  });
});
