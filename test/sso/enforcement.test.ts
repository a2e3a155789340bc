import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { type Agent, TEST_PASSWORD, type TestApp, createTestApp } from '../helpers/harness.js';
import { type OidcPeer, type PeerAccount, driveOidcLogin, startOidcPeer } from './oidc-peer.js';

const PUBLIC = 'http://palisade.test';

/**
 * The "done when", as a new admin would go through it: configure OIDC, map a prefixed
 * group to admin, try to enforce before testing (refused), test, enforce, and sign in as the
 * owner through break-glass.
 */
describe('SSO enforcement that cannot lock anyone out', () => {
  let t: TestApp;
  let peer: OidcPeer;
  let orgId: string;
  let owner: Agent;
  let connectionId: string;
  let totpSecret: string;
  /** Sessions of the member opened before enforcement: by the invitation link, and by password. */
  let memberByLink: Agent;
  let memberByPassword: Agent;
  const accounts: Record<string, PeerAccount> = {
    owner: { email: 'owner@acme.example', groups: ['acme-admins'] },
    alice: { email: 'alice@acme.example', groups: ['acme-admins'] },
    member: { email: 'member@acme.example', groups: ['acme-staff'] },
    invitee: { email: 'invitee@acme.example', groups: ['acme-staff'] },
  };
  const code = (at = t.clock.now()) =>
    new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(totpSecret), digits: 6, period: 30 }).generate({
      timestamp: at.getTime(),
    });

  async function ssoLogin(agent: Agent, login: string, testLogin = false) {
    const start = await agent.get(`/sso/${connectionId}/start${testLogin ? '?test=1' : ''}`);
    assert.equal(start.status, 302, start.raw.body);
    const callback = await driveOidcLogin(String(start.headers.location), login, PUBLIC);
    const res = await agent.get(callback.slice(PUBLIC.length));
    if (res.status === 303) await agent.get('/api/v1/auth/session'); // picks up the new session's CSRF token
    return res;
  }

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    peer = await startOidcPeer(`${PUBLIC}/sso/oidc/callback`, accounts);
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    memberByLink = (await t.addMember(owner, orgId, 'member@acme.example', 'member')).agent;
    memberByPassword = await t.login('member@acme.example');
    const mapping = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: null,
      rules: [
        { group: 'acme-admins', role: 'admin' },
        { group: 'acme-staff', role: 'member' },
      ],
    });
    assert.equal(mapping.status, 200);
    const created = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Okta',
      preset: 'okta',
      oidc: { issuer: peer.issuer, clientId: peer.clientId, clientSecret: peer.clientSecret },
    });
    assert.equal(created.status, 201);
    connectionId = created.body.id;
  });
  after(async () => {
    await t.close();
    await peer.close();
  });

  test('the simulator shows user, role, organization and every rule, and creates nothing', async () => {
    const before = await owner.get(`/api/v1/orgs/${orgId}/members`);
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}/simulate`, {
      claims: { email: 'New.Person@acme.example', groups: ['engineering', 'acme-admins', 'acme-unknown'] },
    });
    assert.equal(res.status, 200, res.raw.body);
    assert.equal(res.body.wouldSucceed, true);
    assert.equal(res.body.role, 'admin');
    assert.equal(res.body.organization.name, 'Acme');
    assert.deepEqual(res.body.willCreate, { user: true, membership: true });
    const outcomes = Object.fromEntries(
      res.body.mapping.groups.map((g: { group: string; outcome: string }) => [g.group, g.outcome]),
    );
    assert.deepEqual(outcomes, { engineering: 'missing_prefix', 'acme-admins': 'matched', 'acme-unknown': 'no_rule' });
    assert.equal(res.body.mapping.groups[0].expected, 'acme-engineering');
    const noEmail = await owner.post(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}/simulate`, {
      claims: { groups: ['acme-admins'] },
    });
    assert.equal(noEmail.body.wouldSucceed, false);
    assert.equal(noEmail.body.failure.code, 'sso_email_missing');
    const after = await owner.get(`/api/v1/orgs/${orgId}/members`);
    assert.equal(after.body.data.length, before.body.data.length);
  });

  test('enforcing before any test login is refused, saying what is missing', async () => {
    const res = await owner.request('PUT', `/api/v1/orgs/${orgId}/sso/enforcement`, { connectionId });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'sso_enforcement_not_ready');
    assert.equal(res.body.error.details.missing.length, 2);
    assert.match(res.body.error.message, /no admin has completed a test login/);
    assert.match(res.body.error.message, /break-glass/);
  });

  test('a primary owner enrolls an authenticator; the secret is shown once', async () => {
    const start = await owner.post('/api/v1/me/totp');
    assert.equal(start.status, 201);
    totpSecret = start.body.secret;
    assert.match(start.body.otpauthUri, /^otpauth:\/\/totp\/Palisade:/);
    const wrong = await owner.post('/api/v1/me/totp/confirm', { code: '000000' === code() ? '111111' : '000000' });
    assert.equal(wrong.body.error.code, 'totp_code_invalid');
    const ok = await owner.post('/api/v1/me/totp/confirm', { code: code() });
    assert.equal(ok.status, 200, ok.raw.body);
    const status = await owner.get('/api/v1/me/totp');
    assert.equal(status.body.enrolled, true);
    assert.ok(!status.raw.body.includes(totpSecret));
    const again = await owner.post('/api/v1/me/totp');
    assert.equal(again.body.error.code, 'totp_already_enrolled');
  });

  test('a test login by someone other than the admin who started it does not count', async () => {
    const res = await ssoLogin(owner, 'alice', true);
    assert.equal(res.status, 303, res.raw.body);
    const conn = await t
      .login('owner@acme.example')
      .then((a) => a.get(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}`));
    assert.equal(conn.body.lastTestLoginAt, null);
  });

  test('after an admin test login, enforcement lists who signs in only with a password, and applies once acknowledged', async () => {
    owner = await t.login('owner@acme.example');
    const res = await ssoLogin(owner, 'owner', true);
    assert.equal(res.status, 303, res.raw.body);
    assert.match(String(res.headers.location), /sso_test=ok/);
    const conn = await owner.get(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}`);
    assert.ok(conn.body.lastTestLoginAt);
    const members = await owner.get(`/api/v1/orgs/${orgId}/members`);
    assert.equal(
      members.body.data.find((m: { email: string }) => m.email === 'owner@acme.example').role,
      'primary_owner',
      'mapping never demotes an owner',
    );
    // The member has only ever signed in with a password: enforcing would leave them no way in Palisade knows works.
    const guarded = await owner.request('PUT', `/api/v1/orgs/${orgId}/sso/enforcement`, { connectionId });
    assert.equal(guarded.status, 409, guarded.raw.body);
    assert.equal(guarded.body.error.code, 'sso_change_would_lock_out');
    assert.deepEqual(
      guarded.body.error.details.warnings.map((w: { email: string; source: string; problem: string }) => [
        w.email,
        w.source,
        w.problem,
      ]),
      [['member@acme.example', 'password', 'would_fail']],
    );
    assert.equal(
      (await owner.get(`/api/v1/orgs/${orgId}/sso/enforcement`)).body.enforced,
      false,
      'nothing was enforced',
    );
    const enforce = await owner.request('PUT', `/api/v1/orgs/${orgId}/sso/enforcement`, {
      connectionId,
      acknowledgeWarnings: true,
    });
    assert.equal(enforce.status, 200, enforce.raw.body);
    assert.equal(enforce.body.enforced, true);
    assert.equal(enforce.body.warnings.length, 1);
    const ack = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=lockout_warning.acknowledged`);
    assert.deepEqual(
      ack.body.data.map((e: { metadata: { change: string; people: { email: string }[] } }) => [
        e.metadata.change,
        e.metadata.people.map((p) => p.email),
      ]),
      [['sso_enforcement', ['member@acme.example']]],
    );
    const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.enforcement_enabled`);
    assert.equal(events.body.data.length, 1);
  });

  test('sessions opened by password or invitation link before enforcement end at their next use; the owner keeps the SSO session', async () => {
    for (const [agent, method] of [
      [memberByPassword, 'password'],
      [memberByLink, 'link'],
    ] as const) {
      const session = await agent.get('/api/v1/auth/session');
      assert.equal(session.status, 401, `the ${method} session no longer signs the member in`);
      const again = await agent.get(`/api/v1/orgs/${orgId}/members`);
      assert.equal(again.status, 401, 'and stays ended');
    }
    const revoked = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=auth.session_revoked`);
    assert.equal(revoked.status, 200, revoked.raw.body);
    assert.deepEqual(
      revoked.body.data
        .map((e: { actor: { email: string }; metadata: { reason: string; method: string; connectionId: string } }) => [
          e.actor.email,
          e.metadata.reason,
          e.metadata.method,
          e.metadata.connectionId,
        ])
        .sort(),
      [
        ['member@acme.example', 'sso_required', 'link', connectionId],
        ['member@acme.example', 'sso_required', 'password', connectionId],
      ],
    );
    assert.equal(
      (await owner.get('/api/v1/auth/session')).status,
      200,
      "the owner's SSO test-login session is not a password session",
    );
  });

  test('while enforced, members are sent to SSO with sso_required, and SSO still works', async () => {
    const res = await t
      .anonymous()
      .post('/api/v1/auth/login', { email: 'member@acme.example', password: TEST_PASSWORD });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'sso_required');
    assert.equal(res.body.error.details.loginUrl, `${PUBLIC}/sso/${connectionId}/start`);
    assert.equal(res.body.error.details.breakGlassAvailable, false);
    const wrongPassword = await t
      .anonymous()
      .post('/api/v1/auth/login', { email: 'member@acme.example', password: 'not the password at all' });
    assert.equal(
      wrongPassword.body.error.code,
      'invalid_credentials',
      'a wrong password does not reveal the SSO requirement',
    );
    const agent = t.anonymous();
    assert.equal((await ssoLogin(agent, 'member')).status, 303);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'member@acme.example');
  });

  test('while enforced, an invitation is accepted through SSO, not by setting a password', async () => {
    const invite = await owner.post(`/api/v1/orgs/${orgId}/members`, { email: 'invitee@acme.example', role: 'member' });
    assert.equal(invite.status, 201, invite.raw.body);
    // No link that sets a password exists: the invitation says where to sign in.
    assert.equal(invite.body.inviteLink, null);
    assert.equal(invite.body.delivery.requires, 'sso_sign_in');
    const mail = await t.lastEmail('invitee@acme.example');
    assert.ok(mail!.links.includes(`${PUBLIC}/sso/${connectionId}/start`), mail!.text);
    assert.ok(!mail!.text.includes('#token='));
    const links = await t.db.database.db
      .selectFrom('link_tokens')
      .innerJoin('users', 'users.id', 'link_tokens.user_id')
      .select('link_tokens.id')
      .where('users.email', '=', 'invitee@acme.example')
      .execute();
    assert.equal(links.length, 0);
    const agent = t.anonymous();
    assert.equal((await ssoLogin(agent, 'invitee')).status, 303);
    const members = await owner.get(`/api/v1/orgs/${orgId}/members?limit=100`);
    const m = members.body.data.find((x: { email: string }) => x.email === 'invitee@acme.example');
    assert.deepEqual([m.status, m.role], ['active', 'member']);
  });

  test('the primary owner signs in through break-glass; the use is audited and flagged', async () => {
    const plain = await t
      .anonymous()
      .post('/api/v1/auth/login', { email: 'owner@acme.example', password: TEST_PASSWORD });
    assert.equal(plain.body.error.code, 'sso_required');
    assert.equal(plain.body.error.details.breakGlassAvailable, true);
    t.clock.advance(60_000);
    const agent = t.anonymous();
    const res = await agent.post('/api/v1/auth/break-glass', {
      email: 'owner@acme.example',
      password: TEST_PASSWORD,
      code: code(),
    });
    assert.equal(res.status, 200, res.raw.body);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'owner@acme.example');
    const reused = await t
      .anonymous()
      .post('/api/v1/auth/break-glass', { email: 'owner@acme.example', password: TEST_PASSWORD, code: code() });
    assert.equal(reused.status, 401, 'a code works once');
    const memberTry = await t
      .anonymous()
      .post('/api/v1/auth/break-glass', { email: 'member@acme.example', password: TEST_PASSWORD, code: '123456' });
    assert.equal(memberTry.body.error.code, 'break_glass_refused');
    const used = await agent.get(`/api/v1/orgs/${orgId}/audit-events?action=auth.break_glass_used`);
    assert.equal(used.body.data.length, 1);
    assert.equal(used.body.data[0].metadata.flagged, true);
    assert.equal(used.body.data[0].metadata.ssoEnforced, true);
    const failed = await agent.get(`/api/v1/orgs/${orgId}/audit-events?action=auth.break_glass_failed`);
    assert.deepEqual(failed.body.data.map((e: { metadata: { reason: string } }) => e.metadata.reason).sort(), [
      'not_a_primary_owner',
      'totp_code_reused',
    ]);
    assert.ok(failed.body.data.every((e: { metadata: { flagged: boolean } }) => e.metadata.flagged));
    owner = agent;
  });

  test('changing the enforced connection first simulates recent logins and warns', async () => {
    const res = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}`, {
      claims: { groups: 'roles' },
    });
    assert.equal(res.status, 409, res.raw.body);
    assert.equal(res.body.error.code, 'sso_change_would_lock_out');
    const warnings = res.body.error.details.warnings as { email: string; problem: string }[];
    assert.ok(
      warnings.some((w) => w.email === 'alice@acme.example' && w.problem === 'would_fail'),
      JSON.stringify(warnings),
    );
    assert.ok(
      warnings.some((w) => w.email === 'member@acme.example' && w.problem === 'would_fail'),
      JSON.stringify(warnings),
    );
    assert.ok(!warnings.some((w) => w.email === 'owner@acme.example'), 'owners keep their role');
    const breakEmail = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}`, {
      claims: { email: 'mail' },
    });
    assert.ok(breakEmail.body.error.details.warnings.every((w: { problem: string }) => w.problem === 'would_fail'));
    const harmless = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}`, {
      name: 'Okta (production)',
    });
    assert.equal(harmless.status, 200);
    assert.deepEqual(harmless.body.warnings, []);
    const forced = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}`, {
      claims: { groups: 'roles' },
      acknowledgeWarnings: true,
    });
    assert.equal(forced.status, 200);
    assert.ok(forced.body.warnings.length >= 1);
    const del = await owner.delete(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}`);
    assert.equal(del.body.error.code, 'connection_enforced');
  });

  test('the impact of a proposed group-to-role mapping on recent sign-ins is shown before it is saved', async () => {
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}/impact`, {
      changes: { claims: { groups: 'groups' } },
      mapping: { requiredPrefix: 'acme-', defaultRole: 'member', rules: [{ group: 'acme-staff', role: 'member' }] },
    });
    assert.equal(res.status, 200, res.raw.body);
    assert.ok(res.body.checkedLogins >= 3);
    const alice = res.body.warnings.find((w: { email: string }) => w.email === 'alice@acme.example');
    assert.deepEqual([alice.problem, alice.before, alice.after], ['would_lose_role', 'admin', 'member']);
    assert.ok(!res.body.warnings.some((w: { email: string }) => w.email === 'member@acme.example'));
    const saved = await owner.get(`/api/v1/orgs/${orgId}/role-mapping`);
    assert.equal(saved.body.rules.length, 2, 'nothing was changed');
  });

  test('turning enforcement off restores password sign-in', async () => {
    const off = await owner.delete(`/api/v1/orgs/${orgId}/sso/enforcement`);
    assert.equal(off.status, 200);
    assert.equal(off.body.enforced, false);
    const res = await t
      .anonymous()
      .post('/api/v1/auth/login', { email: 'member@acme.example', password: TEST_PASSWORD });
    assert.equal(res.status, 200);
  });

  test('a test login older than the allowed age no longer allows enforcement', async () => {
    t.clock.advance(15 * 86_400_000);
    owner = await t.login('owner@acme.example');
    const res = await owner.request('PUT', `/api/v1/orgs/${orgId}/sso/enforcement`, { connectionId });
    assert.equal(res.status, 409);
    assert.match(res.body.error.message, /older than 14 days/);
  });
});
