import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type OidcPeer, type PeerAccount, driveOidcLogin, startOidcPeer } from '../sso/oidc-peer.js';
import { PUBLIC, type Person, SamlOrg } from './saml-org.js';

/**
 * Issue 24, case 3: a changed email at the IdP. Sign-ins are matched on the IdP's stable subject
 * (SAML NameID in the persistent format, OIDC `sub`) before the email: erin@ becoming erin.smith@
 * at the IdP updates her account (audited, and she is told), instead of creating a second one that
 * starts with nothing while the old one keeps the roles. A collision is refused with its own code.
 */
describe("identity continuity: the IdP's stable subject", () => {
  let t: TestApp;
  let org: SamlOrg;
  let erinId: string;
  const erin: Person = { email: 'erin@acme.example', groups: ['acme-admins'], persistentId: 'idp-7f3a9c01' };
  const users = async (like: string) =>
    (
      await t.db.database.db
        .selectFrom('users')
        .select(['id', 'email'])
        .where('email', 'like', like)
        .orderBy('email')
        .execute()
    ).map((u) => u.email);

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    org = await SamlOrg.create(t, 'Acme', 'owner@acme.example', {
      mapping: {
        requiredPrefix: 'acme-',
        defaultRole: null,
        rules: [
          { group: 'acme-admins', role: 'admin' },
          { group: 'acme-staff', role: 'member' },
        ],
      },
    });
    await org.signedIn(erin);
    await org.signedIn({ email: 'frank@acme.example', groups: ['acme-staff'], persistentId: 'idp-0b11f2e4' });
    const links = await org.owner.get(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}/identities`);
    assert.equal(links.status, 200, links.raw.body);
    const link = links.body.data.find((l: { email: string }) => l.email === 'erin@acme.example');
    assert.equal(link.subject, 'urn:test:idp|idp-7f3a9c01');
    erinId = link.userId;
  });
  after(() => t.close());

  test('an email changed at the IdP updates the same account: no second account, the roles stay, it is audited and the person is told', async () => {
    const renamed = { ...erin, email: 'erin.smith@acme.example' };
    const { res, agent } = await org.signIn(renamed);
    assert.equal(res.status, 303, res.raw.body);
    assert.equal(res.headers.location, '/?sso_notice=email_changed');
    const session = await agent.get('/api/v1/auth/session');
    assert.deepEqual([session.body.user.id, session.body.user.email], [erinId, 'erin.smith@acme.example']);
    assert.deepEqual(await users('erin%'), ['erin.smith@acme.example'], 'one account, under the new address');
    assert.equal(await org.roleOf('erin.smith@acme.example'), 'admin');
    const [changed] = await org.events('user.email_changed');
    assert.deepEqual(
      [changed.metadata.from, changed.metadata.to, changed.metadata.via],
      ['erin@acme.example', 'erin.smith@acme.example', 'sso_stable_subject'],
    );
    assert.equal(changed.targets[0].id, erinId);
    const logins = await org.events('auth.login_succeeded');
    assert.deepEqual(logins[0].metadata.emailChanged, { from: 'erin@acme.example', to: 'erin.smith@acme.example' });
    const page = await t.anonymous().get('/?sso_notice=email_changed');
    assert.equal(
      page.headers.location,
      '/sign-in?sso_notice=email_changed',
      'the sign-in page gets the notice and shows it',
    );
    // Signing in again is ordinary: nothing changes twice.
    const again = await org.signIn(renamed);
    assert.equal(again.res.headers.location, '/');
    assert.equal((await org.events('user.email_changed')).length, 1);
  });

  test('the simulator shows the same decision: found by subject, with the address change it would make', async () => {
    await org.signedIn({ ...erin, email: 'erin.smith@acme.example' });
    const res = await org.owner.post(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}/simulate`, {
      claims: { email: 'someone.new@acme.example', groups: ['acme-staff'] },
    });
    assert.equal(res.body.matchedBy, null, 'claims alone carry no stable subject');
    assert.equal(res.body.willCreate.user, true);
  });

  test('an address another account already uses is refused with sso_email_in_use, and nothing changes', async () => {
    const meta = await org.refused({ ...erin, email: 'frank@acme.example' }, 'sso_email_in_use');
    assert.match(meta.detail, /another Palisade account already uses frank@acme\.example/);
    assert.deepEqual(await users('%@acme.example'), [
      'erin.smith@acme.example',
      'frank@acme.example',
      'owner@acme.example',
    ]);
    assert.equal((await org.events('user.email_changed')).length, 1);
    assert.equal(await org.roleOf('frank@acme.example'), 'member');
  });

  test('an address given to someone new at the IdP (another subject) cannot open the account until an admin releases the old link', async () => {
    const newcomer: Person = { email: 'erin.smith@acme.example', groups: ['acme-staff'], persistentId: 'idp-99aa0042' };
    const meta = await org.refused(newcomer, 'sso_subject_mismatch');
    assert.match(meta.detail, /linked to a different person at the identity provider/);
    assert.equal(await org.roleOf('erin.smith@acme.example'), 'admin', 'the account is untouched');
    const other = await t.seedOrg('Globex', 'owner@globex.example');
    assert.equal(
      (await other.owner.delete(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}/identities/${erinId}`))
        .status,
      404,
      'another organization cannot release it',
    );
    const released = await org.owner.delete(
      `/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}/identities/${erinId}`,
    );
    assert.equal(released.status, 204);
    const [unlinked] = await org.events('sso.identity_unlinked');
    assert.equal(unlinked.metadata.subject, 'urn:test:idp|idp-7f3a9c01');
    const agent = await org.signedIn(newcomer);
    assert.equal(
      (await agent.get('/api/v1/auth/session')).body.user.id,
      erinId,
      'the admin decided: the account now follows the new subject',
    );
    assert.equal(await org.roleOf('erin.smith@acme.example'), 'member', "with the role the new person's groups give");
  });

  test('an email NameID is not a stable subject: such sign-ins are matched by email and not linked', async () => {
    await org.signedIn({ email: 'gina@acme.example', groups: ['acme-staff'] });
    const links = await org.owner.get(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}/identities`);
    assert.ok(!links.body.data.some((l: { email: string }) => l.email === 'gina@acme.example'));
  });
});

describe('identity continuity: OIDC sub', () => {
  let t: TestApp;
  let peer: OidcPeer;
  let owner: Agent;
  let orgId: string;
  let connectionId: string;
  const accounts: Record<string, PeerAccount> = {
    'sub-erin': { email: 'erin@beta.example', groups: ['beta-admins'] },
    'sub-hal': { email: 'hal@beta.example', groups: ['beta-admins'] },
  };
  const signIn = async (login: string) => {
    const agent = t.anonymous();
    const start = await agent.get(`/sso/${connectionId}/start`);
    const callback = await driveOidcLogin(String(start.headers.location), login, PUBLIC);
    const res = await agent.get(callback.slice(PUBLIC.length));
    return { res, agent };
  };

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    peer = await startOidcPeer(`${PUBLIC}/sso/oidc/callback`, accounts);
    ({ orgId, owner } = await t.seedOrg('Beta', 'owner@beta.example'));
    assert.equal(
      (
        await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
          requiredPrefix: 'beta-',
          defaultRole: 'member',
          rules: [{ group: 'beta-admins', role: 'admin' }],
        })
      ).status,
      200,
    );
    const created = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Okta',
      oidc: { issuer: peer.issuer, clientId: peer.clientId, clientSecret: peer.clientSecret },
    });
    connectionId = created.body.id;
  });
  after(async () => {
    await peer.close();
    await t.close();
  });

  test('the same sub with a new email is the same account; a sub whose new email is taken is refused', async () => {
    const first = await signIn('sub-erin');
    assert.equal(first.res.status, 303);
    const erinId = (await first.agent.get('/api/v1/auth/session')).body.user.id;
    accounts['sub-erin']!.email = 'erin.smith@beta.example';
    const second = await signIn('sub-erin');
    assert.equal(second.res.status, 303, second.res.raw.body);
    assert.equal(second.res.headers.location, '/?sso_notice=email_changed');
    const me = (await second.agent.get('/api/v1/auth/session')).body.user;
    assert.deepEqual([me.id, me.email], [erinId, 'erin.smith@beta.example']);
    const members = await owner.get(`/api/v1/orgs/${orgId}/members`);
    assert.deepEqual(members.body.data.map((m: { email: string; role: string }) => [m.email, m.role]).sort(), [
      ['erin.smith@beta.example', 'admin'],
      ['owner@beta.example', 'primary_owner'],
    ]);
    assert.equal((await signIn('sub-hal')).res.status, 303);
    accounts['sub-erin']!.email = 'hal@beta.example';
    const clash = await signIn('sub-erin');
    assert.equal(clash.res.headers['x-sso-error'], 'sso_email_in_use');
    assert.equal(clash.res.status, 403);
    const after = await owner.get(`/api/v1/orgs/${orgId}/members`);
    assert.equal(after.body.data.length, 3);
    assert.ok(after.body.data.some((m: { email: string }) => m.email === 'erin.smith@beta.example'));
  });
});
