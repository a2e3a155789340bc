import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Dnsmasq } from '../domains/dns-peers.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { PUBLIC, type Person, SamlOrg } from './saml-org.js';

const run = promisify(execFile);

/**
 * Issue 24, case 7: an admin locked out by a mapping mistake. Break-glass is for primary owners; a
 * primary owner issues a time-limited, single-use recovery link for that one member of their
 * organization. It opens one short session and sets no credential, and it is refused for an account
 * another organization manages (a member elsewhere too, or at a domain another organization verified).
 */
describe('recovery links for members locked out of SSO', () => {
  let t: TestApp;
  let org: SamlOrg;
  let globex: { orgId: string; owner: Agent };
  const dns = new Dnsmasq();
  const alice: Person = { email: 'alice@acme.example', groups: ['acme-admins'] };
  const carol: Person = { email: 'carol@acme.example', groups: ['acme-it'] };
  const bob: Person = { email: 'bob@acme.example', groups: ['acme-staff'] };
  const memberId = async (email: string) =>
    (
      (await org.owner.get(`/api/v1/orgs/${org.orgId}/members?limit=100`)).body.data as { id: string; email: string }[]
    ).find((m) => m.email === email)!.id;
  const issue = (agent: Agent, body: Record<string, unknown>) =>
    agent.post(`/api/v1/orgs/${org.orgId}/sso/recovery-links`, body);
  const tokenOf = (url: string) => new URL(url).hash.replace('#token=', '');
  let link: { url: string; expiresAt: string; id: string };

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    org = await SamlOrg.create(t, 'Acme', 'owner@acme.example', {
      mapping: {
        requiredPrefix: 'acme-',
        defaultRole: null,
        rules: [
          { group: 'acme-admins', role: 'admin' },
          { group: 'acme-it', role: 'admin' },
          { group: 'acme-staff', role: 'member' },
        ],
      },
    });
    for (const p of [alice, carol, bob]) await org.signedIn(p);
    await org.enforce({ email: 'owner@acme.example', groups: ['acme-admins'] });
    // The mapping mistake, acknowledged: the admins' rule misspelt.
    const typo = {
      requiredPrefix: 'acme-',
      defaultRole: null,
      rules: [
        { group: 'acme-admnis', role: 'admin' },
        { group: 'acme-it', role: 'admin' },
        { group: 'acme-staff', role: 'member' },
      ],
      acknowledgeWarnings: true,
    };
    assert.equal((await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, typo)).status, 200);
    globex = await t.seedOrg('Globex', 'owner@globex.example');
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test('the locked-out admin gets sso_no_role, and break-glass is not theirs', async () => {
    await org.refused(alice, 'sso_no_role');
    const glass = await t.anonymous().post('/api/v1/auth/break-glass', {
      email: 'alice@acme.example',
      password: 'anything at all here',
      code: '123456',
    });
    assert.equal(glass.status, 401);
    assert.equal(glass.body.error.code, 'break_glass_refused');
  });

  test('only a primary owner of the organization issues a link: not an admin, not a member, not another organization, not for themselves', async () => {
    const id = await memberId('alice@acme.example');
    const admin = await org.signedIn(carol);
    const byAdmin = await issue(admin, { memberId: id, reason: 'locked out' });
    assert.equal(byAdmin.status, 403);
    assert.equal(byAdmin.body.error.code, 'missing_permission_sso_recovery');
    const byMember = await issue(await org.signedIn(bob), { memberId: id, reason: 'locked out' });
    assert.equal(byMember.status, 403);
    const foreign = await globex.owner.post(`/api/v1/orgs/${org.orgId}/sso/recovery-links`, {
      memberId: id,
      reason: 'take over',
    });
    assert.equal(foreign.status, 404);
    const foreignMember = await globex.owner.post(`/api/v1/orgs/${globex.orgId}/sso/recovery-links`, {
      memberId: id,
      reason: 'take over',
    });
    assert.equal(foreignMember.status, 404, "another organization's member id is not found in Globex");
    const self = await issue(org.owner, {
      memberId: await memberId('owner@acme.example'),
      reason: 'locked out myself',
    });
    assert.equal(self.status, 409, self.raw.body);
    assert.equal(self.body.error.code, 'recovery_link_for_self');
    assert.match(self.body.error.message, /break-glass/);
    assert.equal((await org.events('sso.recovery_link_issued')).length, 0);
  });

  test('the owner issues a link; it opens one short session for that member, sets no password, and is audited', async () => {
    const res = await issue(org.owner, {
      memberId: await memberId('alice@acme.example'),
      reason: 'Admins rule misspelt; Alice fixes the mapping',
    });
    assert.equal(res.status, 201, res.raw.body);
    link = res.body;
    assert.match(link.url, /^http:\/\/palisade\.test\/sso\/recover#token=pls_rcv_/);
    assert.equal(res.body.member.email, 'alice@acme.example');
    assert.equal(res.body.sessionMinutes, 60);
    const [issued] = await org.events('sso.recovery_link_issued');
    assert.equal(issued.metadata.flagged, true);
    assert.equal(issued.metadata.reason, 'Admins rule misspelt; Alice fixes the mapping');
    assert.ok(!JSON.stringify(issued).includes(tokenOf(link.url)), 'the secret is not in the audit log');
    const page = await t.anonymous().get(new URL(link.url).pathname);
    assert.equal(page.status, 200);
    assert.match(page.raw.body, /Sign in with a recovery link/);
    assert.ok(!page.raw.body.includes(tokenOf(link.url)), 'the token stays in the fragment, never sent to the server');
    const agent = t.anonymous();
    const redeemed = await agent.post('/api/v1/sso/recovery', { token: tokenOf(link.url) });
    assert.equal(redeemed.status, 200, redeemed.raw.body);
    assert.equal(redeemed.body.user.email, 'alice@acme.example');
    assert.equal(redeemed.body.expiresAt, new Date(t.clock.now().getTime() + 60 * 60_000).toISOString());
    // SSO is enforced, yet this session is not ended as a password session would be; she acts as the admin she is.
    assert.equal((await agent.get('/api/v1/auth/session')).status, 200);
    const fixed = await agent.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: null,
      rules: [
        { group: 'acme-admins', role: 'admin' },
        { group: 'acme-it', role: 'admin' },
        { group: 'acme-staff', role: 'member' },
      ],
    });
    assert.equal(fixed.status, 200, fixed.raw.body);
    const user = await t.db.database.db
      .selectFrom('users')
      .select('password_hash')
      .where('email', '=', 'alice@acme.example')
      .executeTakeFirstOrThrow();
    assert.equal(user.password_hash, null, 'no credential was set');
    const [used] = await org.events('sso.recovery_link_used');
    assert.deepEqual([used.outcome, used.actor.email, used.metadata.flagged], ['success', 'alice@acme.example', true]);
    await org.signedIn(alice); // the mapping is fixed: SSO works again
    t.clock.advance(61 * 60_000);
    assert.equal((await agent.get('/api/v1/auth/session')).status, 401, 'the recovery session is over after an hour');
  });

  test('a link works once, expires, and can be revoked; each refusal is audited', async () => {
    const again = await t.anonymous().post('/api/v1/sso/recovery', { token: tokenOf(link.url) });
    assert.equal(again.status, 400);
    assert.equal(again.body.error.code, 'invalid_or_expired_recovery_link');
    const short = await issue(org.owner, {
      memberId: await memberId('bob@acme.example'),
      reason: 'test expiry',
      ttlMinutes: 5,
    });
    t.clock.advance(6 * 60_000);
    assert.equal((await t.anonymous().post('/api/v1/sso/recovery', { token: tokenOf(short.body.url) })).status, 400);
    const revocable = await issue(org.owner, {
      memberId: await memberId('bob@acme.example'),
      reason: 'issued by mistake',
    });
    assert.equal(
      (await org.owner.delete(`/api/v1/orgs/${org.orgId}/sso/recovery-links/${revocable.body.id}`)).status,
      204,
    );
    assert.equal(
      (await t.anonymous().post('/api/v1/sso/recovery', { token: tokenOf(revocable.body.url) })).status,
      400,
    );
    const denied = (await org.events('sso.recovery_link_used'))
      .filter((e) => e.outcome === 'denied')
      .map((e) => e.metadata.reason)
      .sort();
    assert.deepEqual(denied, ['already_used', 'expired', 'revoked']);
    const garbage = await t.anonymous().post('/api/v1/sso/recovery', { token: 'pls_rcv_not-a-real-token' });
    assert.equal(garbage.body.error.code, 'invalid_or_expired_recovery_link');
  });

  test('an account another organization also holds is refused, without naming that organization', async () => {
    // Dual joined Acme through its IdP; Globex then invited the same address.
    await org.signedIn({ email: 'dual@shared.example', groups: ['acme-staff'] });
    assert.equal(
      (
        await globex.owner.post(`/api/v1/orgs/${globex.orgId}/members`, {
          email: 'dual@shared.example',
          role: 'member',
        })
      ).status,
      201,
    );
    const id = await memberId('dual@shared.example');
    const res = await issue(org.owner, { memberId: id, reason: 'take over' });
    assert.equal(res.status, 409, res.raw.body);
    assert.equal(res.body.error.code, 'recovery_account_managed_elsewhere');
    assert.match(res.body.error.message, /also belongs to another organization/);
    assert.ok(!res.raw.body.includes('Globex'));
  });

  test('an account at a domain another organization verified is refused', async () => {
    const added = await globex.owner.post(`/api/v1/orgs/${globex.orgId}/domains`, { domain: 'globex.test' });
    // Hal joined Acme through its IdP before Globex verified its domain.
    await org.signedIn({ email: 'hal@globex.test', groups: ['acme-staff'] });
    await dns.serve([`txt-record=_palisade-challenge.globex.test,"${added.body.instructions.value}"`]);
    t.config.dnsServers = [dns.server];
    assert.equal(
      (await globex.owner.post(`/api/v1/orgs/${globex.orgId}/domains/${added.body.id}/verify`)).body.verified,
      true,
    );
    const res = await issue(org.owner, { memberId: await memberId('hal@globex.test'), reason: 'hal is locked out' });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'recovery_account_managed_elsewhere');
    assert.match(res.body.error.message, /globex\.test is verified by another organization/);
    assert.ok(!res.raw.body.includes('Globex'));
  });

  test('an operator can issue one from the CLI (audited as the CLI), under the same rules', async () => {
    const id = await memberId('carol@acme.example');
    const out = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli.ts',
        'sso',
        'recovery-link',
        '--org',
        org.orgId,
        '--member',
        id,
        '--reason',
        'operator help',
      ],
      { env: { ...process.env, DATABASE_URL: t.db.url, PALISADE_LOG_LEVEL: 'silent', PALISADE_PUBLIC_URL: PUBLIC } },
    );
    assert.match(
      out.stdout,
      /Recovery link for carol@acme\.example .*\n {2}http:\/\/palisade\.test\/sso\/recover#token=pls_rcv_/,
    );
    const issued = (await org.events('sso.recovery_link_issued')).find((e) => e.actor.type === 'system');
    assert.equal(issued.actor.id, 'cli');
  });
});
