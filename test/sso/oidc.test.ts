import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ssoCleanupJob } from '../../src/sso/jobs.js';
import { type Agent, TEST_PASSWORD, type TestApp, createTestApp } from '../helpers/harness.js';
import { type OidcPeer, type PeerAccount, driveOidcLogin, startOidcPeer } from './oidc-peer.js';

const PUBLIC = 'http://palisade.test';

/** Signs in through the real OIDC provider as `login` and returns the Palisade reply to the callback. */
export async function oidcLogin(
  t: TestApp,
  agent: Agent,
  connectionId: string,
  login: string,
  opts: { test?: boolean; beforeCallback?: (callbackUrl: string) => Promise<void> } = {},
) {
  const start = await agent.get(`/sso/${connectionId}/start${opts.test ? '?test=1' : ''}`);
  assert.equal(start.status, 302, start.raw.body);
  const callback = await driveOidcLogin(String(start.headers.location), login, PUBLIC);
  await opts.beforeCallback?.(callback);
  const res = await agent.get(callback.slice(PUBLIC.length));
  return { res, callback };
}

async function auditByReference(owner: Agent, orgId: string, reference: string) {
  const res = await owner.get(`/api/v1/orgs/${orgId}/audit-events?target=${reference}`);
  assert.equal(res.status, 200);
  assert.equal(res.body.data.length, 1, `one audit event names ${reference}`);
  return res.body.data[0];
}

describe('OIDC single sign-on against a real oidc-provider', () => {
  let t: TestApp;
  let peer: OidcPeer;
  let orgId: string;
  let owner: Agent;
  let connectionId: string;
  const accounts: Record<string, PeerAccount> = {
    alice: {
      email: 'Alice@Acme.example',
      given_name: 'Alice',
      family_name: 'Liddell',
      groups: ['acme-admins', 'engineering'],
    },
    bob: { email: 'bob@acme.example', groups: ['acme-staff'] },
    owner: { email: 'owner@acme.example', groups: [] },
    nogroups: { email: 'carol@acme.example', groups: ['marketing'] },
    newbie: { email: 'newbie@acme.example', groups: ['acme-staff'] },
    squatted: { email: 'squatted@acme.example', groups: ['acme-staff'] },
  };

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    peer = await startOidcPeer(`${PUBLIC}/sso/oidc/callback`, accounts);
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    const mapping = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: null,
      rules: [
        { group: 'acme-admins', role: 'admin' },
        { group: 'acme-staff', role: 'member' },
      ],
    });
    assert.equal(mapping.status, 200, mapping.raw.body);
  });
  after(async () => {
    await t.close();
    await peer.close();
  });

  test('presets name the claims and attributes of Okta, Entra ID and Google Workspace', async () => {
    const res = await t.anonymous().get('/api/v1/sso/presets');
    assert.equal(res.status, 200);
    const byId = Object.fromEntries(res.body.data.map((p: { id: string }) => [p.id, p]));
    assert.equal(byId.entra.saml.groups, 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups');
    assert.equal(byId.okta.oidc.groups, 'groups');
    assert.match(byId.google.configure, /Google Admin console/);
  });

  test('an admin creates an OIDC connection; the client secret is never returned', async () => {
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Okta',
      preset: 'okta',
      oidc: { issuer: peer.issuer, clientId: peer.clientId, clientSecret: peer.clientSecret },
    });
    assert.equal(res.status, 201, res.raw.body);
    connectionId = res.body.id;
    assert.equal(res.body.oidc.clientSecretSet, true);
    assert.equal(res.body.oidc.redirectUri, `${PUBLIC}/sso/oidc/callback`);
    assert.ok(!res.raw.body.includes(peer.clientSecret));
    const list = await owner.get(`/api/v1/orgs/${orgId}/sso/connections`);
    assert.equal(list.body.data.length, 1);
    assert.ok(!list.raw.body.includes(peer.clientSecret));
    const audit = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.connection_created`);
    assert.equal(audit.body.data.length, 1);
    assert.ok(!audit.raw.body.includes(peer.clientSecret));
    const bad = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, { protocol: 'oidc', name: 'Broken' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'oidc_config_required');
  });

  test('a member cannot manage connections', async () => {
    const { agent } = await t.addMember(owner, orgId, 'member@acme.example', 'member');
    const res = await agent.get(`/api/v1/orgs/${orgId}/sso/connections`);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'missing_permission_sso_manage');
  });

  test('a first login creates the user and membership; a prefixed group maps to admin', async () => {
    const agent = t.anonymous();
    const { res } = await oidcLogin(t, agent, connectionId, 'alice');
    assert.equal(res.status, 303, res.raw.body);
    assert.ok(agent.cookie, 'session cookie set');
    const me = await agent.get('/api/v1/auth/session');
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, 'alice@acme.example');
    const members = await owner.get(`/api/v1/orgs/${orgId}/members?limit=100`);
    const alice = members.body.data.find((m: { email: string }) => m.email === 'alice@acme.example');
    assert.equal(alice.role, 'admin');
    const joined = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=member.joined`);
    assert.ok(joined.body.data.some((e: { metadata: { via?: string } }) => e.metadata.via === 'sso_jit'));
  });

  test('attack: account pre-hijacking. Credentials another organization set up on the account end when it joins through its IdP', async () => {
    // An admin of another organization invites the victim's address, redeems the link themselves
    // (the inviter holds it), removes the membership, signs in with the password and makes a token.
    const other = await t.seedOrg('Elsewhere', 'owner@elsewhere.example');
    const { memberId } = await t.addMember(other.owner, other.orgId, 'squatted@acme.example', 'member');
    assert.equal((await other.owner.request('DELETE', `/api/v1/orgs/${other.orgId}/members/${memberId}`)).status, 204);
    const attacker = await t.login('squatted@acme.example');
    const pat = await attacker.post('/api/v1/me/tokens', { name: 'kept for later' });
    assert.equal(pat.status, 201, pat.raw.body);
    const script = t.anonymous();
    script.bearer = pat.body.token;
    assert.equal((await script.get('/api/v1/auth/session')).status, 200);

    // The real person signs in through Acme's IdP (JIT) and joins Acme.
    const victim = t.anonymous();
    assert.equal((await oidcLogin(t, victim, connectionId, 'squatted')).res.status, 303);
    assert.equal((await victim.get('/api/v1/auth/session')).status, 200, 'the IdP session is the one that lives');

    assert.equal((await attacker.get('/api/v1/auth/session')).status, 401, 'the password session ended');
    assert.equal((await script.get('/api/v1/auth/session')).status, 401, 'the API token ended');
    const again = await t
      .anonymous()
      .post('/api/v1/auth/login', { email: 'squatted@acme.example', password: TEST_PASSWORD });
    assert.equal(again.status, 403, 'the password set through the other organization no longer works');
    assert.equal(again.body.error.code, 'sso_required', 'the account now has no password: it is sent to its SSO');
    const reset = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=user.credentials_reset`);
    assert.equal(reset.body.data.length, 1);
    // Two sessions: the one the redeemed invitation opened, and the password sign-in.
    assert.deepEqual(reset.body.data[0].metadata, {
      reason: 'joined_through_identity_provider',
      passwordCleared: true,
      sessionsRevoked: 2,
      apiTokensRevoked: 1,
      gatewayKeysRevoked: 0,
    });
    // Signing in again through the IdP does not reset anything (already a member).
    assert.equal((await oidcLogin(t, t.anonymous(), connectionId, 'squatted')).res.status, 303);
    assert.equal((await victim.get('/api/v1/auth/session')).status, 200);
    assert.equal(
      (await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=user.credentials_reset`)).body.data.length,
      1,
    );
  });

  test('a role change at login is applied and audited', async () => {
    accounts.alice!.groups = ['acme-staff'];
    const { res } = await oidcLogin(t, t.anonymous(), connectionId, 'alice');
    assert.equal(res.status, 303, res.raw.body);
    const changed = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=member.role_changed`);
    const e = changed.body.data[0];
    assert.deepEqual([e.metadata.from, e.metadata.to, e.metadata.via], ['admin', 'member', 'sso_group_mapping']);
    accounts.alice!.groups = ['acme-admins'];
  });

  test('groups that grant no role refuse a new person, in plain words with a reference to the diagnosis', async () => {
    const { res } = await oidcLogin(t, t.anonymous(), connectionId, 'nogroups');
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-sso-error'], 'sso_no_role');
    const reference = String(res.headers['x-sso-reference']);
    assert.match(res.raw.body, /none of your groups gives you access/);
    assert.ok(res.raw.body.includes(reference));
    const event = await auditByReference(owner, orgId, reference);
    assert.equal(event.action, 'sso.login_failed');
    assert.equal(event.metadata.code, 'sso_no_role');
    assert.match(JSON.stringify(event.metadata), /does not start with the required prefix \\"acme-\\"/);
  });

  test('with JIT off, only existing members get in', async () => {
    assert.equal(
      (await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}`, { jitEnabled: false })).status,
      200,
    );
    const { res } = await oidcLogin(t, t.anonymous(), connectionId, 'newbie');
    assert.equal(res.headers['x-sso-error'], 'sso_not_a_member');
    assert.equal((await oidcLogin(t, t.anonymous(), connectionId, 'alice')).res.status, 303);
    assert.equal(
      (await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${connectionId}`, { jitEnabled: true })).status,
      200,
    );
    assert.equal((await oidcLogin(t, t.anonymous(), connectionId, 'newbie')).res.status, 303);
  });

  test('a callback used twice is refused: sso_state_reused', async () => {
    const agent = t.anonymous();
    const { res, callback } = await oidcLogin(t, agent, connectionId, 'bob');
    assert.equal(res.status, 303, res.raw.body);
    const again = await t.anonymous().get(callback.slice(PUBLIC.length));
    assert.equal(again.status, 403);
    assert.equal(again.headers['x-sso-error'], 'sso_state_reused');
  });

  test("attack: a callback for the attacker's own sign-in, opened in the victim's browser, is refused (login CSRF)", async () => {
    const attacker = t.anonymous();
    const start = await attacker.get(`/sso/${connectionId}/start`);
    const callback = await driveOidcLogin(String(start.headers.location), 'bob', PUBLIC);
    const victim = t.anonymous();
    await victim.get(`/sso/${connectionId}/start`); // the victim's browser has its own binding cookie
    const res = await victim.get(callback.slice(PUBLIC.length));
    assert.equal(res.status, 403);
    assert.equal(res.headers['x-sso-error'], 'sso_browser_mismatch');
    assert.equal(victim.cookie, undefined, 'no session for the victim');
  });

  test('attack: a tampered id_token (claims changed, signature kept) is refused', async () => {
    const { res } = await oidcLogin(t, t.anonymous(), connectionId, 'bob', {
      beforeCallback: async () =>
        peer.tamperNextIdToken((jwt) => {
          const [h, p, s] = jwt.split('.');
          const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
          claims.email = 'owner@acme.example';
          return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
        }),
    });
    assert.equal(res.status, 403, res.raw.body);
    assert.equal(res.headers['x-sso-error'], 'oidc_id_token_bad_signature');
    const event = await auditByReference(owner, orgId, String(res.headers['x-sso-reference']));
    assert.equal(event.metadata.check, 'ID token signature verifies against the IdP JWKS');
  });

  test('attack: an unsigned id_token (alg=none) is refused', async () => {
    const { res } = await oidcLogin(t, t.anonymous(), connectionId, 'bob', {
      beforeCallback: async () =>
        peer.tamperNextIdToken((jwt) => {
          const [, p] = jwt.split('.');
          return `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
        }),
    });
    assert.equal(res.status, 403, res.raw.body);
    assert.equal(res.headers['x-sso-error'], 'oidc_id_token_bad_alg');
  });

  test('attack: an ID token for a different nonce is refused', async () => {
    const { res } = await oidcLogin(t, t.anonymous(), connectionId, 'bob', {
      beforeCallback: async () => {
        // The state row stands for the browser's sign-in; a token minted for another sign-in carries another nonce.
        await t.db.database.db
          .updateTable('sso_login_states')
          .set({ nonce: 'a-nonce-from-another-sign-in' })
          .where('used_at', 'is', null)
          .where('connection_id', '=', connectionId)
          .execute();
      },
    });
    assert.equal(res.status, 403, res.raw.body);
    assert.equal(res.headers['x-sso-error'], 'oidc_nonce_mismatch');
    const event = await auditByReference(owner, orgId, String(res.headers['x-sso-reference']));
    assert.equal(event.metadata.expected, 'a-nonc…');
  });

  test('an unreachable IdP or a disabled connection gives a page with a reference, not a server error', async () => {
    const broken = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Down',
      oidc: { issuer: 'http://127.0.0.1:9/', clientId: 'x', clientSecret: 'y' },
    });
    const down = await t.anonymous().get(`/sso/${broken.body.id}/start`);
    assert.equal(down.status, 502);
    assert.equal(down.headers['x-sso-error'], 'oidc_discovery_failed');
    assert.match(down.raw.body, /could not reach your identity provider/);
    const off = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${broken.body.id}`, { status: 'disabled' });
    assert.equal(off.status, 200);
    const disabled = await t.anonymous().get(`/sso/${broken.body.id}/start`);
    assert.equal(disabled.status, 403);
    assert.equal(disabled.headers['x-sso-error'], 'sso_connection_disabled');
    await auditByReference(owner, orgId, String(disabled.headers['x-sso-reference']));
    const unknown = await t.anonymous().get('/sso/sso_00000000000000000000000000/start');
    assert.equal(unknown.status, 404);
  });

  test('the sso.cleanup job purges spent and expired login states, idempotently', async () => {
    const db = t.db.database.db;
    const count = async () =>
      Number(
        (
          await db
            .selectFrom('sso_login_states')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    await t.anonymous().get(`/sso/${connectionId}/start`);
    assert.ok((await count()) > 0);
    const job = ssoCleanupJob();
    await job.run(t.system);
    assert.ok((await count()) > 0, 'live states are kept');
    t.clock.advance(11 * 60_000);
    const first = await job.run(t.system);
    assert.ok((first as { states: number }).states > 0);
    assert.equal(await count(), 0);
    assert.deepEqual(await job.run(t.system), { states: 0, assertions: 0, loginRecords: 0 });
    t.clock.advance(181 * 86_400_000);
    assert.ok(((await job.run(t.system)) as { loginRecords: number }).loginRecords > 0, 'old login records are pruned');
  });

  test('a callback with a state Palisade never issued is refused', async () => {
    const res = await t.anonymous().get('/sso/oidc/callback?code=abc&state=forged');
    assert.equal(res.status, 400);
    assert.equal(res.headers['x-sso-error'], 'sso_state_unknown');
  });
});
