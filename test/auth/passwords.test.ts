import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashPassword } from '../../src/auth/passwords.js';
import { newId } from '../../src/ids.js';
import { Dnsmasq } from '../domains/dns-peers.js';
import { Agent, TEST_PASSWORD, type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * Passwords: reset by email (same answer and timing for any address, rate limited), change with the
 * current one, admin resets only where the organization manages the address, and every password
 * set through a link ends the account's other sessions, tokens and gateway keys. Email verification
 * gates auto-join. Acme verifies acme.test with auto-join (real dnsmasq).
 */
describe('passwords: reset, change, admin reset, verification', () => {
  let t: TestApp;
  let acme: { orgId: string; owner: Agent };
  let globex: { orgId: string; owner: Agent };
  const dns = new Dnsmasq();
  const db = () => t.db.database.db;
  const tokenOf = (url: string) => new URL(url).hash.replace('#token=', '');
  const resetLink = async (email: string) => {
    const mail = await t.lastEmail(email, 'password_reset');
    const link = mail?.links.find((l) => l.includes('/reset-password#token='));
    assert.ok(link, `a reset link was mailed to ${email}`);
    return link;
  };
  const events = async (who: { orgId: string; owner: Agent }, action: string) =>
    (await who.owner.get(`/api/v1/orgs/${who.orgId}/audit-events?action=${action}&limit=100`)).body.data as {
      outcome: string;
      metadata: Record<string, unknown>;
    }[];

  before(async () => {
    t = await createTestApp({ passwordResetMaxPerIp: 8 });
    acme = await t.seedOrg('Acme', 'owner@acme.test');
    globex = await t.seedOrg('Globex', 'owner@globex.test');
    const domain = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/domains`, { domain: 'acme.test', autoJoin: true });
    await dns.serve([`txt-record=_palisade-challenge.acme.test,"${domain.body.instructions.value}"`]);
    t.config.dnsServers = [dns.server];
    assert.equal(
      (await acme.owner.post(`/api/v1/orgs/${acme.orgId}/domains/${domain.body.id}/verify`)).body.verified,
      true,
    );
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test('a reset link ends every other session, API token and gateway key; the old password stops working', async () => {
    const { agent: carol } = await t.addMember(globex.owner, globex.orgId, 'carol@freemail.test', 'member');
    const laptop = await t.login('carol@freemail.test');
    const pat = (await carol.post('/api/v1/me/tokens', { name: 'script' })).body.token as string;
    const key = (await carol.post(`/api/v1/orgs/${globex.orgId}/gateway/keys`, { name: 'cli' })).body;
    assert.ok(key.key, JSON.stringify(key));
    const script = new Agent(t.app, 'carol@freemail.test');
    script.bearer = pat;
    assert.equal((await script.get('/api/v1/me')).status, 200);

    const asked = await t.anonymous().post('/api/v1/auth/password-reset', { email: 'Carol@Freemail.test' });
    assert.equal(asked.status, 202);
    const fresh = await t.redeem(
      await resetLink('carol@freemail.test'),
      'carol@freemail.test',
      'a brand new passphrase',
    );
    assert.equal((await fresh.get('/api/v1/me')).status, 200);
    assert.equal((await laptop.get('/api/v1/me')).status, 401, 'the other session ended');
    assert.equal((await carol.get('/api/v1/me')).status, 401);
    assert.equal((await script.get('/api/v1/me')).status, 401, 'the API token was revoked');
    const row = await db()
      .selectFrom('gateway_keys')
      .select('revoked_at')
      .where('id', '=', key.gatewayKey.id)
      .executeTakeFirstOrThrow();
    assert.notEqual(row.revoked_at, null, 'the gateway key was revoked');
    assert.equal(
      (await t.anonymous().post('/api/v1/auth/login', { email: 'carol@freemail.test', password: TEST_PASSWORD }))
        .status,
      401,
    );
    await t.login('carol@freemail.test', 'a brand new passphrase');
    const set = (await events(globex, 'auth.password_set')).find((e) => e.metadata.via === 'reset');
    assert.deepEqual(
      [set?.metadata.sessionsRevoked, set?.metadata.apiTokensRevoked, set?.metadata.gatewayKeysRevoked],
      [2, 1, 1],
    );
    assert.equal((await events(globex, 'auth.password_reset_requested')).length, 1);
    // The link works once.
    const again = await t.anonymous().post('/api/v1/auth/setup-password', {
      token: tokenOf(await resetLink('carol@freemail.test')),
      password: 'yet another passphrase',
    });
    assert.equal(again.status, 400);
    assert.equal(again.body.error.code, 'invalid_or_expired_link');
    assert.equal((await events(globex, 'auth.link_refused'))[0]?.metadata.reason, 'already_used');
  });

  test('a reset request answers the same, in the same time, for known and unknown addresses', async () => {
    const timed = async (email: string) => {
      const started = process.hrtime.bigint();
      const res = await t.anonymous('198.51.100.20').post('/api/v1/auth/password-reset', { email });
      return { res, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    };
    const known = await timed('owner@globex.test');
    const unknown = await timed('nobody-here@globex.test');
    const malformed = await timed('not an address');
    for (const r of [known, unknown, malformed]) {
      assert.equal(r.res.status, 202);
      assert.deepEqual(r.res.body, known.res.body);
      assert.ok(r.ms >= 300, `answered after ${r.ms} ms: every answer waits for the same floor`);
    }
    assert.ok(await t.lastEmail('owner@globex.test', 'password_reset'));
    assert.equal(await t.lastEmail('nobody-here@globex.test'), undefined);
  });

  test('reset mails are limited per address (silently) and requests per network (429)', async () => {
    const before = (
      await db()
        .selectFrom('email_outbox')
        .select('id')
        .where('to_address', '=', 'owner@acme.test')
        .where('template', '=', 'password_reset')
        .execute()
    ).length;
    for (let i = 0; i < 5; i++)
      assert.equal(
        (await t.anonymous('198.51.100.30').post('/api/v1/auth/password-reset', { email: 'owner@acme.test' })).status,
        202,
      );
    const sent =
      (
        await db()
          .selectFrom('email_outbox')
          .select('id')
          .where('to_address', '=', 'owner@acme.test')
          .where('template', '=', 'password_reset')
          .execute()
      ).length - before;
    assert.equal(sent, 3, 'at most 3 reset mails per address per hour');
    for (let i = 0; i < 3; i++)
      await t.anonymous('198.51.100.30').post('/api/v1/auth/password-reset', { email: `x${i}@nowhere.test` });
    const refused = await t
      .anonymous('198.51.100.30')
      .post('/api/v1/auth/password-reset', { email: 'owner@acme.test' });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'too_many_password_resets');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.equal(
      (await t.anonymous('198.51.100.31').post('/api/v1/auth/password-reset', { email: 'owner@acme.test' })).status,
      202,
      'another network has its own budget',
    );
  });

  test('changing your password needs the current one; your other sessions end, this one goes on', async () => {
    const { agent: dan } = await t.addMember(globex.owner, globex.orgId, 'dan@freemail.test', 'member');
    const other = await t.login('dan@freemail.test');
    const wrong = await dan.post('/api/v1/me/password', {
      currentPassword: 'not my password at all',
      newPassword: 'a better passphrase',
    });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.error.code, 'current_password_incorrect');
    const short = await dan.post('/api/v1/me/password', { currentPassword: TEST_PASSWORD, newPassword: 'short' });
    assert.equal(short.body.error.code, 'password_too_short');
    const ok = await dan.post('/api/v1/me/password', {
      currentPassword: TEST_PASSWORD,
      newPassword: 'a better passphrase',
    });
    assert.equal(ok.status, 204, ok.raw.body);
    assert.equal((await dan.get('/api/v1/me')).status, 200, 'this session goes on');
    assert.equal((await other.get('/api/v1/me')).status, 401, 'the other one ended');
    await t.login('dan@freemail.test', 'a better passphrase');
    assert.equal(
      (await t.lastEmail('dan@freemail.test', 'password_changed'))?.subject,
      'Your Palisade password was changed',
    );
    const token = (await dan.post('/api/v1/me/tokens', { name: 't' })).body.token as string;
    const byToken = new Agent(t.app, 'dan@freemail.test');
    byToken.bearer = token;
    const viaToken = await byToken.post('/api/v1/me/password', {
      currentPassword: 'a better passphrase',
      newPassword: 'a third passphrase',
    });
    assert.equal(viaToken.body.error.code, 'session_required');
  });

  test('guessing the current password through a session is throttled like sign-in', async () => {
    const { agent: eve } = await t.addMember(globex.owner, globex.orgId, 'eve@freemail.test', 'member');
    const codes: string[] = [];
    for (let i = 0; i < 7; i++)
      codes.push(
        (
          await eve.post('/api/v1/me/password', {
            currentPassword: `guess number ${i}`,
            newPassword: 'a new passphrase here',
          })
        ).body.error.code,
      );
    assert.deepEqual(codes, [
      ...Array(5).fill('current_password_incorrect'),
      'too_many_login_attempts',
      'too_many_login_attempts',
    ]);
  });

  test('an admin resets a member whose address the organization manages; another organization may not', async () => {
    const { agent: frank, memberId } = await t.addMember(acme.owner, acme.orgId, 'frank@acme.test', 'member');
    const res = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members/${memberId}/password-reset`, {
      delivery: 'link',
    });
    assert.equal(res.status, 200, res.raw.body);
    assert.match(res.body.resetLink.url, /\/reset-password#token=/);
    assert.equal((await frank.get('/api/v1/me')).status, 401, 'sessions end at once');
    assert.equal(
      (await t.anonymous().post('/api/v1/auth/login', { email: 'frank@acme.test', password: TEST_PASSWORD })).status,
      401,
      'the password is gone',
    );
    await t.redeem(res.body.resetLink.url, 'frank@acme.test', 'frank chose this one');
    const reset = await events(acme, 'user.credentials_reset');
    assert.equal(reset[0]?.metadata.reason, 'admin_reset');

    // Globex's owner tries the same on a Globex member at an unmanaged domain: refused, nothing changes.
    const members = (await globex.owner.get(`/api/v1/orgs/${globex.orgId}/members?limit=100`)).body.data as {
      id: string;
      email: string;
    }[];
    const dan = members.find((m) => m.email === 'dan@freemail.test')!;
    const refused = await globex.owner.post(`/api/v1/orgs/${globex.orgId}/members/${dan.id}/password-reset`, {
      delivery: 'link',
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'account_not_managed');
    assert.match(refused.body.error.message, /Forgot password/);
    await t.login('dan@freemail.test', 'a better passphrase');
  });

  test('auto-join through a verified domain waits for a proven address', async () => {
    // An account made before the fix: a password nobody proved, at acme.test (auto-join is on).
    const at = t.clock.now().toISOString();
    await db()
      .insertInto('users')
      .values({
        id: newId('usr', t.clock.now()),
        email: 'gina@acme.test',
        display_name: null,
        password_hash: await hashPassword(TEST_PASSWORD, 10),
        status: 'active',
        created_at: at,
        updated_at: at,
        email_verified_at: null,
        password_changed_at: null,
      })
      .execute();
    const gina = await t.login('gina@acme.test');
    assert.deepEqual((await gina.get('/api/v1/me')).body.memberships, [], 'no auto-join for an unproven address');
    // Gina has no organization yet, so she proves the address through a reset link instead.
    assert.equal((await t.anonymous().post('/api/v1/auth/password-reset', { email: 'gina@acme.test' })).status, 202);
    assert.equal(
      await t.lastEmail('gina@acme.test'),
      undefined,
      'an account with no organization gets nothing (there is nothing to sign in to)',
    );
    // Acme invites her (its domain: the link is mailed, the old password dies with it).
    const invite = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members`, { email: 'gina@acme.test' });
    assert.equal(invite.body.delivery.requires, 'set_password');
    const link = (await t.lastEmail('gina@acme.test'))!.links.find((l) => l.includes('#token='))!;
    const proven = await t.redeem(link, 'gina@acme.test', 'gina proved it');
    assert.equal((await gina.get('/api/v1/me')).status, 401);
    assert.equal((await proven.get('/api/v1/me')).body.user.emailVerified, true);
  });

  test('a proven address at the verified domain auto-joins at sign-in', async () => {
    const { organization, setupLink } = await (
      await import('../../src/membership/organizations.js')
    )
      .createOrganization(t.system, { name: 'Hobby', ownerEmail: 'hal@acme.test' })
      .catch(() => ({ organization: null, setupLink: null }));
    assert.equal(organization, null, 'the operator cannot hand an acme.test address a new organization');
    assert.equal(setupLink, null);
    const { agent: ivy } = await t.addMember(acme.owner, acme.orgId, 'ivy@acme.test', 'member');
    const me = await ivy.get('/api/v1/me');
    assert.equal(me.body.user.emailVerified, true);
    // Leaving Acme and signing in again joins her back through auto-join (proven address).
    const mine = (await acme.owner.get(`/api/v1/orgs/${acme.orgId}/members?limit=100`)).body.data.find(
      (m: { email: string }) => m.email === 'ivy@acme.test',
    );
    assert.equal((await acme.owner.delete(`/api/v1/orgs/${acme.orgId}/members/${mine.id}`)).status, 204);
    const again = await t.login('ivy@acme.test');
    assert.deepEqual(
      (await again.get('/api/v1/me')).body.memberships.map((m: { orgName: string }) => m.orgName),
      ['Acme'],
    );
  });
});
