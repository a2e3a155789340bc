import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RECHECK_JOB } from '../../src/domains/recheck-job.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import type { Scheduler } from '../../src/jobs/scheduler.js';
import { passwordlessAccountError } from '../../src/auth/sso-policy.js';
import { Dnsmasq } from '../domains/dns-peers.js';
import { type TestApp, TEST_PASSWORD, createTestApp } from '../helpers/harness.js';
import { PUBLIC, type Person, SamlOrg } from './saml-org.js';

const DAY = 24 * 3600 * 1000;

/**
 * Issue 24, case 4: a lapsed domain must not lock out SSO-only people. The organization verified
 * acme.test through a real DNS server (dnsmasq), people at it sign in through SAML only (they have
 * no password), and SSO is enforced. The record disappears, the grace period ends and the domain
 * expires: discovery still sends each existing account to its organization's sign-in (it knows
 * accounts, not only domains), they still sign in, the lockout guard finds nobody locked out, and a
 * newcomer at the now uncaptured domain is no longer routed to the organization.
 */
describe('lockout guard: a lapsed domain', () => {
  let t: TestApp;
  let org: SamlOrg;
  let sched: Scheduler;
  let domainId = '';
  let token = '';
  const dns = new Dnsmasq();
  const RECORD = '_palisade-challenge.acme.test';
  const alice: Person = { email: 'alice@acme.test', groups: ['acme-admins'] };
  const bob: Person = { email: 'bob@acme.test', groups: ['acme-staff'] };
  const discover = async (email: string) =>
    (
      await t
        .anonymous(`198.51.100.${Math.floor(Math.random() * 200) + 1}`)
        .get(`/api/v1/login/discover?email=${encodeURIComponent(email)}`)
    ).body;
  const day = async () => {
    t.clock.advance(DAY);
    const r = (await sched.tick()).find((x) => x.name === RECHECK_JOB);
    assert.equal(r?.status, 'succeeded', r?.error);
  };

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC, domainGraceDays: 2 });
    org = await SamlOrg.create(t, 'Acme', 'owner@acme.test', {
      mapping: {
        requiredPrefix: 'acme-',
        defaultRole: null,
        rules: [
          { group: 'acme-admins', role: 'admin' },
          { group: 'acme-staff', role: 'member' },
        ],
      },
    });
    const added = await org.owner.post(`/api/v1/orgs/${org.orgId}/domains`, { domain: 'acme.test' });
    domainId = added.body.id;
    token = added.body.instructions.value;
    await dns.serve([`txt-record=${RECORD},"${token}"`]);
    t.config.dnsServers = [dns.server];
    assert.equal((await org.owner.post(`/api/v1/orgs/${org.orgId}/domains/${domainId}/verify`)).body.verified, true);
    for (const p of [alice, bob]) await org.signedIn(p);
    await org.enforce({ email: 'owner@acme.test', groups: ['acme-admins'] });
    // Weeks pass: the owner works with an API token (sessions are hours long).
    org.owner.bearer = (await org.owner.post('/api/v1/me/tokens', { name: 'admin script' })).body.token;
    sched = createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config });
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test("while the domain is verified, discovery sends its people to the organization's SSO only", async () => {
    const d = await discover('alice@acme.test');
    assert.equal(d.organization?.id, org.orgId);
    assert.deepEqual(
      d.methods.map((m: { type: string }) => m.type),
      ['sso'],
    );
  });

  test('the record disappears and the domain expires: existing accounts are still routed to SSO, never to a password', async () => {
    await dns.serve([]);
    for (let i = 0; i < 4; i++) await day();
    const domain = await org.owner.get(`/api/v1/orgs/${org.orgId}/domains/${domainId}`);
    assert.equal(domain.body.status, 'expired');
    for (const email of ['alice@acme.test', 'bob@acme.test', 'owner@acme.test']) {
      const d = await discover(email);
      assert.deepEqual(
        d.methods.map((m: { type: string }) => m.type),
        ['sso'],
        `${email} is still sent to single sign-on`,
      );
      assert.equal(d.methods[0].startUrl, `/sso/${org.conn.id}/start`);
      assert.equal(d.organization, null, 'the domain no longer names the organization');
      assert.equal(
        d.methods[0].name,
        undefined,
        "nor does the connection's name, for an address at a domain nobody captures",
      );
    }
    const newcomer = await discover('newcomer@acme.test');
    assert.deepEqual(
      [newcomer.organization, newcomer.methods],
      [null, [{ type: 'password' }]],
      'capture stopped for people without an account',
    );
  });

  test('they still sign in through SSO with their roles; the guard found nobody locked out by the expiry', async () => {
    await org.signedIn(alice);
    await org.signedIn(bob);
    assert.equal(await org.roleOf('alice@acme.test'), 'admin');
    assert.equal((await org.events('lockout_warning.recorded')).length, 0);
    assert.equal((await org.events('domain.expired')).length, 1);
  });

  test('an SSO-only account at the password page gets sso_required with where to sign in, not invalid_credentials', async () => {
    const plain = await t.anonymous().post('/api/v1/auth/login', { email: 'alice@acme.test', password: TEST_PASSWORD });
    assert.equal(plain.status, 403);
    assert.equal(plain.body.error.code, 'sso_required');
    assert.equal(plain.body.error.details.loginUrl, `${PUBLIC}/sso/${org.conn.id}/start`);
    const failed = await t.db.database.db
      .selectFrom('audit_events')
      .select('metadata')
      .where('action', '=', 'auth.login_failed')
      .where('actor_email', '=', 'alice@acme.test')
      .execute();
    assert.ok(
      failed.some((e) => e.metadata.includes('no_password_set')),
      'the attempt is still audited as a failure',
    );
    const user = await t.db.database.db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', 'alice@acme.test')
      .executeTakeFirstOrThrow();
    const err = await passwordlessAccountError(t.system, user);
    assert.equal(err?.code, 'sso_required');
    assert.equal(err?.status, 403);
    assert.equal(err?.details?.loginUrl, `${PUBLIC}/sso/${org.conn.id}/start`);
    assert.match(err?.message ?? '', /signs in through single sign-on and has no password/);
    const owner = await t.db.database.db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', 'owner@acme.test')
      .executeTakeFirstOrThrow();
    assert.equal(
      await passwordlessAccountError(t.system, owner),
      undefined,
      'an account with a password is answered as before',
    );
  });

  test('removing the domain goes through the same guard: nobody loses access, so it applies', async () => {
    const res = await org.owner.delete(`/api/v1/orgs/${org.orgId}/domains/${domainId}`);
    assert.equal(res.status, 204, res.raw.body);
    assert.deepEqual(
      (await discover('bob@acme.test')).methods.map((m: { type: string }) => m.type),
      ['sso'],
    );
    await org.signedIn(bob);
  });
});
