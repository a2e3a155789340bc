import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateSecret, hashSecret } from '../../src/auth/secrets.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { newId } from '../../src/ids.js';
import { createOrganization } from '../../src/membership/organizations.js';
import { Dnsmasq } from '../domains/dns-peers.js';
import { Agent, TEST_PASSWORD, type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * Accounts are installation-wide, so a credential belongs to whoever controls the address (or to
 * the organization that verified its domain). These are the attacks of the security review, played
 * through HTTP: another organization's admin must never hold a link that sets a password of an
 * account it does not manage, nor activate such an account, nor keep a credential planted before.
 * Acme verifies acme.test (real dnsmasq); freemail.test is verified by nobody.
 */
describe('invitations and consent: only whoever controls an address sets its credentials', () => {
  let t: TestApp;
  let acme: { orgId: string; owner: Agent };
  let globex: { orgId: string; owner: Agent };
  const dns = new Dnsmasq();
  const db = () => t.db.database.db;
  const linksOf = async (email: string) =>
    db()
      .selectFrom('link_tokens')
      .innerJoin('users', 'users.id', 'link_tokens.user_id')
      .select(['link_tokens.id', 'link_tokens.org_id', 'link_tokens.delivery', 'link_tokens.used_at'])
      .where('users.email', '=', email)
      .execute();
  const mailedLink = async (email: string, template?: string) => {
    const mail = await t.lastEmail(email, template);
    const link = mail?.links.find((l) => l.includes('#token='));
    assert.ok(link, `a link was mailed to ${email}`);
    return link;
  };
  const events = async (who: { orgId: string; owner: Agent }, action: string) =>
    (await who.owner.get(`/api/v1/orgs/${who.orgId}/audit-events?action=${action}&limit=100`)).body.data as {
      outcome: string;
      metadata: Record<string, unknown>;
    }[];
  const membersOf = async (who: { orgId: string; owner: Agent }) =>
    (await who.owner.get(`/api/v1/orgs/${who.orgId}/members?limit=200`)).body.data as {
      id: string;
      email: string;
      status: string;
      role: string;
    }[];

  before(async () => {
    t = await createTestApp();
    acme = await t.seedOrg('Acme', 'owner@acme.test');
    globex = await t.seedOrg('Globex', 'owner@globex.test');
    const domain = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/domains`, { domain: 'acme.test', autoJoin: true });
    await dns.serve([`txt-record=_palisade-challenge.acme.test,"${domain.body.instructions.value}"`]);
    t.config.dnsServers = [dns.server];
    const verified = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/domains/${domain.body.id}/verify`);
    assert.equal(verified.body.verified, true, verified.raw.body);
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test('an invitation of a new address goes to the address: the inviter never sees the link, and asking for it is refused and audited', async () => {
    const invite = await globex.owner.post(`/api/v1/orgs/${globex.orgId}/members`, {
      email: 'bob@freemail.test',
      role: 'admin',
    });
    assert.equal(invite.status, 201, invite.raw.body);
    assert.equal(invite.body.inviteLink, null);
    assert.deepEqual([invite.body.delivery.method, invite.body.delivery.requires], ['email', 'set_password']);
    assert.ok(!invite.raw.body.includes('pls_lnk_'), 'no token in the answer');
    const mail = await t.lastEmail('bob@freemail.test');
    assert.equal(mail?.template, 'invitation');
    assert.match(mail!.subject, /Globex/);
    assert.match(mail!.html, /Accept and set your password/);

    const asked = await globex.owner.post(`/api/v1/orgs/${globex.orgId}/members`, {
      email: 'carol@freemail.test',
      delivery: 'link',
    });
    assert.equal(asked.status, 403);
    assert.equal(asked.body.error.code, 'invite_link_not_allowed');
    assert.match(asked.body.error.message, /freemail\.test/);
    assert.equal(await t.lastEmail('carol@freemail.test'), undefined, 'nothing was sent');
    assert.equal(
      (await db().selectFrom('users').select('id').where('email', '=', 'carol@freemail.test').execute()).length,
      0,
      'no account was created',
    );
    const denied = (await events(globex, 'member.invited')).filter((e) => e.outcome === 'denied');
    assert.deepEqual(
      denied.map((e) => e.metadata.reason),
      ['invite_link_not_allowed'],
    );
  });

  test('at a domain the organization verified, an admin may take the link instead (it manages those accounts)', async () => {
    const invite = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members`, {
      email: 'alice@acme.test',
      role: 'admin',
      delivery: 'link',
    });
    assert.equal(invite.status, 201, invite.raw.body);
    assert.match(invite.body.inviteLink.url, /\/setup#token=pls_lnk_/);
    assert.equal(invite.body.delivery.method, 'link');
    assert.equal(await t.lastEmail('alice@acme.test'), undefined, 'the link is not also mailed');
    const alice = await t.redeem(invite.body.inviteLink.url, 'alice@acme.test');
    const me = await alice.get('/api/v1/me');
    assert.equal(me.body.user.emailVerified, true);
    assert.deepEqual(
      me.body.memberships.map((m: { orgName: string; status: string }) => [m.orgName, m.status]),
      [['Acme', 'active']],
    );
  });

  test('attack (invite-then-redeem): another organization invites an account of Acme and gets nothing that sets a credential', async () => {
    // dave@acme.test: invited to Acme by email, never signed up (no password yet).
    const dave = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members`, { email: 'dave@acme.test' });
    assert.equal(dave.body.delivery.requires, 'set_password');
    const before = await linksOf('dave@acme.test');
    const invite = await globex.owner.post(`/api/v1/orgs/${globex.orgId}/members`, {
      email: 'dave@acme.test',
      role: 'admin',
    });
    assert.equal(invite.status, 201, invite.raw.body);
    assert.equal(invite.body.inviteLink, null);
    assert.equal(
      invite.body.delivery.requires,
      'acceptance',
      'an account at a domain Acme manages only accepts, through its own sign-in',
    );
    assert.deepEqual(await linksOf('dave@acme.test'), before, 'no new link exists for dave');
    const mail = await t.lastEmail('dave@acme.test');
    assert.match(mail!.subject, /Globex/);
    assert.ok(!mail!.text.includes('#token='), 'the notice carries no credential');
    const asLink = await globex.owner.post(`/api/v1/orgs/${globex.orgId}/members`, {
      email: 'dave2@acme.test',
      delivery: 'link',
    });
    assert.equal(asLink.status, 403);
    assert.equal(
      asLink.body.error.code,
      'email_domain_captured',
      'no account may be created at a domain another organization verified',
    );
    assert.ok(!asLink.raw.body.includes('Acme'), 'the refusal does not name the other organization');
    const m = (await membersOf(globex)).find((x) => x.email === 'dave@acme.test');
    assert.equal(m?.status, 'invited', 'and the membership grants nothing until dave accepts');
    // Dave signs up through Acme's own link, then accepts Globex's invitation himself.
    const agent = await t.redeem(await mailedLinkFrom(acme.orgId, 'dave@acme.test'), 'dave@acme.test');
    const pending = await agent.get('/api/v1/me/invitations');
    assert.deepEqual(
      pending.body.data.map((i: { orgName: string; role: string }) => [i.orgName, i.role]),
      [['Globex', 'admin']],
    );
    const accepted = await agent.post(`/api/v1/me/invitations/${pending.body.data[0].membershipId}/accept`);
    assert.equal(accepted.status, 200, accepted.raw.body);
    assert.equal((await membersOf(globex)).find((x) => x.email === 'dave@acme.test')?.status, 'active');
    assert.equal((await events(globex, 'member.joined')).at(0)?.metadata.via, 'invitation_accepted');
  });

  /** The newest link an organization mailed to an address (the inbox may hold several). */
  async function mailedLinkFrom(orgId: string, email: string): Promise<string> {
    const rows = await db()
      .selectFrom('email_outbox')
      .select('id')
      .where('to_address', '=', email)
      .where('org_id', '=', orgId)
      .where('template', '=', 'invitation')
      .orderBy('id', 'desc')
      .execute();
    assert.ok(rows.length, `${orgId} mailed ${email}`);
    const mail = await t.lastEmail(email);
    // lastEmail reads the newest message; when it is another organization's notice, read this one's directly.
    if (mail && mail.id === rows[0]!.id) return mailedLink(email);
    const { openEmailBody } = await import('../../src/email/outbox.js');
    const row = await db()
      .selectFrom('email_outbox')
      .selectAll()
      .where('id', '=', rows[0]!.id)
      .executeTakeFirstOrThrow();
    const body = await openEmailBody(t.config, row);
    const link = [...(body?.text ?? '').matchAll(/https?:\/\/\S+#token=\S+/g)][0]?.[0];
    assert.ok(link);
    return link;
  }

  test('attack: a link issued before the owner set a password is refused with link_superseded, and audited', async () => {
    // erin@freemail.test is invited by Globex and by Acme (both mail her a link); she uses Globex's.
    await globex.owner.post(`/api/v1/orgs/${globex.orgId}/members`, { email: 'erin@freemail.test' });
    const globexLink = await mailedLink('erin@freemail.test');
    t.clock.advance(1000);
    await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members`, { email: 'erin@freemail.test' });
    const acmeLink = await mailedLink('erin@freemail.test');
    assert.notEqual(acmeLink, globexLink);
    t.clock.advance(1000);
    await t.redeem(globexLink, 'erin@freemail.test');
    const late = await t.anonymous().post('/api/v1/auth/setup-password', {
      token: new URL(acmeLink).hash.replace('#token=', ''),
      password: 'another password entirely',
    });
    assert.equal(late.status, 400);
    assert.equal(late.body.error.code, 'link_superseded');
    assert.match(late.body.error.message, /Forgot password/);
    const refused = await events(acme, 'auth.link_refused');
    assert.equal(refused[0]?.metadata.reason, 'password_changed_since');
    assert.equal(refused[0]?.outcome, 'denied');
    assert.equal((await t.login('erin@freemail.test')).email, 'erin@freemail.test', 'her own password still works');
    // Acme's invitation is still hers to accept, signed in.
    const agent = await t.login('erin@freemail.test');
    await t.acceptInvitations(agent);
    assert.equal((await membersOf(acme)).find((x) => x.email === 'erin@freemail.test')?.status, 'active');
  });

  test('attack (pre-hijack): a credential planted on an unproven account dies when the real owner proves the address', async () => {
    // As before the fix: someone set a password for frank@acme.test, kept a session and a personal
    // token, and left (no membership). The account is unproven.
    const at = t.clock.now().toISOString();
    const userId = newId('usr', t.clock.now());
    await db()
      .insertInto('users')
      .values({
        id: userId,
        email: 'frank@acme.test',
        display_name: null,
        password_hash: await hashPassword(TEST_PASSWORD, 10),
        status: 'active',
        created_at: at,
        updated_at: at,
        email_verified_at: null,
        password_changed_at: null,
      })
      .execute();
    const pat = generateSecret('pat');
    await db()
      .insertInto('api_tokens')
      .values({
        id: newId('tok', t.clock.now()),
        user_id: userId,
        name: 'kept',
        token_hash: hashSecret(pat),
        display_prefix: pat.slice(0, 14),
        created_at: at,
        expires_at: null,
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    const attacker = await t.login('frank@acme.test');
    // Acme (which manages acme.test) invites the real Frank: he is NOT activated on the strength of that account.
    const invite = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members`, {
      email: 'frank@acme.test',
      role: 'admin',
    });
    assert.equal(invite.status, 201, invite.raw.body);
    assert.deepEqual([invite.body.member.status, invite.body.delivery.requires], ['invited', 'set_password']);
    const byToken = new Agent(t.app, 'frank@acme.test');
    byToken.bearer = pat;
    assert.equal(
      (await byToken.get(`/api/v1/orgs/${acme.orgId}`)).status,
      404,
      'the planted token reaches nothing of Acme',
    );
    const tokenAccept = await byToken.post(`/api/v1/me/invitations/${invite.body.member.id}/accept`);
    assert.equal(tokenAccept.status, 403);
    assert.equal(tokenAccept.body.error.code, 'session_required');
    const sessionAccept = await attacker.post(`/api/v1/me/invitations/${invite.body.member.id}/accept`);
    assert.equal(sessionAccept.status, 403, 'an unproven account cannot accept');
    assert.equal(sessionAccept.body.error.code, 'email_unverified');
    // The real Frank opens the link in his mailbox.
    const frank = await t.redeem(await mailedLink('frank@acme.test'), 'frank@acme.test', 'franks own passphrase');
    assert.equal((await byToken.get('/api/v1/me')).status, 401, 'the planted token is revoked');
    assert.equal((await attacker.get('/api/v1/me')).status, 401, 'the planted session is ended');
    assert.equal(
      (await t.anonymous().post('/api/v1/auth/login', { email: 'frank@acme.test', password: TEST_PASSWORD })).status,
      401,
      'the planted password is gone',
    );
    assert.equal((await frank.get(`/api/v1/orgs/${acme.orgId}`)).status, 200);
    const set = (await events(acme, 'auth.password_set')).find(
      (e) => e.metadata.via === 'invite' && e.metadata.hadPassword === true,
    );
    assert.ok(set, 'the takeover of the planted credential is audited');
    assert.equal(set.metadata.apiTokensRevoked, 1);
    assert.ok(Number(set.metadata.sessionsRevoked) >= 1);
  });

  test('attack: a session on an unproven account cannot accept invitations for the person behind the address', async () => {
    // grace@freemail.test was created and signed in by someone else (before the fix), unproven.
    const at = t.clock.now().toISOString();
    await db()
      .insertInto('users')
      .values({
        id: newId('usr', t.clock.now()),
        email: 'grace@freemail.test',
        display_name: null,
        password_hash: await hashPassword(TEST_PASSWORD, 10),
        status: 'active',
        created_at: at,
        updated_at: at,
        email_verified_at: null,
        password_changed_at: null,
      })
      .execute();
    const squatter = await t.login('grace@freemail.test');
    const invite = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members`, {
      email: 'grace@freemail.test',
      role: 'admin',
    });
    assert.equal(
      invite.body.delivery.requires,
      'acceptance',
      'an account someone already controls is asked, not set up',
    );
    const accept = await squatter.post(`/api/v1/me/invitations/${invite.body.member.id}/accept`);
    assert.equal(accept.status, 403);
    assert.equal(accept.body.error.code, 'email_unverified');
    assert.equal((await membersOf(acme)).find((x) => x.email === 'grace@freemail.test')?.status, 'invited');
    // Asking for a verification link sends it to the mailbox, not to the session.
    const verify = await squatter.post('/api/v1/me/email-verification');
    assert.deepEqual(verify.body, { alreadyVerified: false, sentTo: 'grace@freemail.test' });
    assert.ok(!verify.raw.body.includes('pls_lnk_'));
  });

  test('declining an invitation removes it and is audited; another person cannot decline or accept it', async () => {
    await globex.owner.post(`/api/v1/orgs/${globex.orgId}/members`, { email: 'owner@acme.test', role: 'member' });
    const acmeOwnerInvites = await acme.owner.get('/api/v1/me/invitations');
    const id = acmeOwnerInvites.body.data[0].membershipId as string;
    assert.equal(
      (await globex.owner.post(`/api/v1/me/invitations/${id}/accept`)).status,
      404,
      "the inviter cannot accept on the invitee's behalf",
    );
    assert.equal((await globex.owner.post(`/api/v1/me/invitations/${id}/decline`)).status, 404);
    assert.equal((await acme.owner.post(`/api/v1/me/invitations/${id}/decline`)).status, 204);
    assert.equal((await acme.owner.get('/api/v1/me/invitations')).body.data.length, 0);
    assert.equal(
      (await membersOf(globex)).find((x) => x.email === 'owner@acme.test'),
      undefined,
    );
    assert.equal((await events(globex, 'member.invitation_declined')).length, 1);
  });

  test("attack: another organization's SCIM directory cannot create or claim an account at a domain Acme verified", async () => {
    const dir = await globex.owner.post(`/api/v1/orgs/${globex.orgId}/scim/directories`, { name: 'Globex Okta' });
    const scim = new Agent(t.app, 'scim');
    scim.bearer = dir.body.token;
    const base = `/scim/v2/${dir.body.directory.id}`;
    const claim = await scim.request(
      'POST',
      `${base}/Users`,
      {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'alice@acme.test',
        emails: [{ value: 'alice@acme.test', primary: true }],
        active: true,
      },
      { 'content-type': 'application/scim+json' },
    );
    assert.equal(claim.status, 403, claim.raw.body);
    const body = JSON.parse(claim.raw.body) as { detail: string };
    assert.match(body.detail, /acme\.test, a domain another organization verified/);
    assert.ok(!body.detail.includes('Acme'), 'the refusal names the rule, not the organization');
    const create = await scim.request(
      'POST',
      `${base}/Users`,
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'mallory@acme.test', active: true },
      { 'content-type': 'application/scim+json' },
    );
    assert.equal(create.status, 403);
    assert.equal(
      (await db().selectFrom('users').select('id').where('email', '=', 'mallory@acme.test').execute()).length,
      0,
    );
    assert.equal(
      (await membersOf(globex)).filter((m) => m.email.endsWith('@acme.test') && m.status === 'active').length,
      1,
      'only dave, who accepted himself',
    );
    const refused = await events(globex, 'scim.user_refused');
    assert.equal(refused.length, 2);
    assert.equal(refused[0]?.outcome, 'denied');
    const log = await globex.owner.get(
      `/api/v1/orgs/${globex.orgId}/scim/directories/${dir.body.directory.id}/sync-log?limit=10`,
    );
    assert.ok(
      log.body.data.some((e: { cause: string | null }) => e.cause === 'email_domain_captured'),
      JSON.stringify(log.body.data[0]),
    );
  });

  test("a SCIM directory linking someone's existing account at an unverified domain only invites it", async () => {
    const dir = await globex.owner.post(`/api/v1/orgs/${globex.orgId}/scim/directories`, { name: 'Globex Entra' });
    const scim = new Agent(t.app, 'scim');
    scim.bearer = dir.body.token;
    // grace@freemail.test has an account (with a password) that Globex has nothing to do with.
    const res = await scim.request(
      'POST',
      `/scim/v2/${dir.body.directory.id}/Users`,
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'grace@freemail.test', active: true },
      { 'content-type': 'application/scim+json' },
    );
    assert.equal(res.status, 201, res.raw.body);
    const m = (await membersOf(globex)).find((x) => x.email === 'grace@freemail.test');
    assert.equal(m?.status, 'invited', 'the directory does not activate an account it does not manage');
    const log = await globex.owner.get(
      `/api/v1/orgs/${globex.orgId}/scim/directories/${dir.body.directory.id}/sync-log?limit=5`,
    );
    assert.equal(log.body.data[0].cause, 'pending_consent');
    assert.match(log.body.data[0].explanation, /accept/);
    // A brand-new address at an unverified domain is the directory's own account: active at once.
    const fresh = await scim.request(
      'POST',
      `/scim/v2/${dir.body.directory.id}/Users`,
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'hank@freemail.test', active: true },
      { 'content-type': 'application/scim+json' },
    );
    assert.equal(fresh.status, 201);
    assert.equal((await membersOf(globex)).find((x) => x.email === 'hank@freemail.test')?.status, 'active');
    // Grace (who proves her address first) accepts herself.
    const grace = await t.login('grace@freemail.test');
    assert.equal((await grace.post(`/api/v1/me/invitations/${m!.id}/accept`)).body.error.code, 'email_unverified');
    const verifyLink = await mailedLink('grace@freemail.test', 'verify_email');
    assert.match(verifyLink, /\/verify-email#token=/);
    const verified = await t
      .anonymous()
      .post('/api/v1/auth/verify-email', { token: new URL(verifyLink).hash.replace('#token=', '') });
    assert.equal(verified.status, 200, verified.raw.body);
    assert.equal(verified.body.user.emailVerified, true);
    assert.equal((await grace.post(`/api/v1/me/invitations/${m!.id}/accept`)).status, 200);
    assert.equal((await membersOf(globex)).find((x) => x.email === 'grace@freemail.test')?.status, 'active');
  });

  test('the CLI refuses an owner at a domain another organization verified, and only invites an existing account', async () => {
    await assert.rejects(
      createOrganization(t.system, { name: 'Shadow', ownerEmail: 'ivan@acme.test' }),
      (err: { code?: string }) => err.code === 'email_domain_captured',
    );
    const existing = await createOrganization(t.system, { name: 'Side project', ownerEmail: 'erin@freemail.test' });
    assert.equal(existing.setupLink, null, 'no link for an account someone already controls');
    assert.equal(existing.ownerStatus, 'invited');
    const fresh = await createOrganization(t.system, { name: 'Newco', ownerEmail: 'founder@newco.test' });
    assert.match(fresh.setupLink!.url, /#token=pls_lnk_/, 'a new account gets the operator a setup link');
  });

  test('an anonymous POST /api/v1/orgs is asked to sign in (401)', async () => {
    const res = await t.anonymous().post('/api/v1/orgs', { name: 'Anon Inc' });
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'authentication_required');
  });

  test('without a mail server, inviting a new address is refused with what to set up; a managed address may take the link', async () => {
    const noMail = await createTestApp({ smtpUrl: '', smtpFrom: '' });
    try {
      const org = await noMail.seedOrg('Quiet', 'owner@quiet.test');
      const res = await org.owner.post(`/api/v1/orgs/${org.orgId}/members`, { email: 'new@elsewhere.test' });
      assert.equal(res.status, 409);
      assert.equal(res.body.error.code, 'email_not_configured');
      assert.match(res.body.error.message, /PALISADE_SMTP_URL/);
      assert.equal(
        (
          await noMail.db.database.db
            .selectFrom('users')
            .select('id')
            .where('email', '=', 'new@elsewhere.test')
            .execute()
        ).length,
        0,
        'nothing was created',
      );
      // An existing account is invited all the same: it sees the invitation when signed in.
      await noMail.seedOrg('Other', 'someone@other.test');
      const existing = await org.owner.post(`/api/v1/orgs/${org.orgId}/members`, { email: 'someone@other.test' });
      assert.equal(existing.status, 201);
      assert.deepEqual([existing.body.delivery.method, existing.body.delivery.requires], ['none', 'acceptance']);
    } finally {
      await noMail.close();
    }
  });
});
