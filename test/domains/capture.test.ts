import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loginMethodsForOrg } from '../../src/domains/capture.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { Dnsmasq } from './dns-peers.js';

/** Domain capture: login discovery, and refusing personal accounts at a verified domain. */
describe('domain capture', () => {
  let t: TestApp;
  let a: { orgId: string; owner: Agent };
  let b: { orgId: string; owner: Agent };
  let early: Agent;
  let domainId = '';
  const dns = new Dnsmasq();
  const ORG_A = 'Acme Capture Internal Name';
  const discover = (email: string) => t.anonymous().get(`/api/v1/login/discover?email=${encodeURIComponent(email)}`);

  before(async () => {
    t = await createTestApp({ orgCreation: 'any_user' });
    a = await t.seedOrg(ORG_A, 'owner@acme.test');
    b = await t.seedOrg('Beta', 'owner@beta.test');
    // Someone at acme.test who joined Beta before Acme verified its domain.
    ({ agent: early } = await t.addMember(b.owner, b.orgId, 'early@acme.test', 'member'));
    const res = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: 'acme.test' });
    domainId = res.body.id;
    await dns.serve([`txt-record=_palisade-challenge.acme.test,"${res.body.instructions.value}"`]);
    t.config.dnsServers = [dns.server];
    assert.equal((await a.owner.post(`/api/v1/orgs/${a.orgId}/domains/${domainId}/verify`)).body.verified, true);
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test('discover routes an email at a verified domain to its organization, case-insensitively', async () => {
    const res = await discover('Bob@ACME.Test');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      email: 'bob@acme.test',
      organization: { id: a.orgId, name: ORG_A },
      methods: [{ type: 'password' }],
    });
    assert.deepEqual(await loginMethodsForOrg(t.db.database.db, a.orgId), [{ type: 'password' }]);
  });

  test('discover answers "no organization" for other domains, and refuses what is not an email', async () => {
    assert.deepEqual((await discover('someone@elsewhere.test')).body, {
      email: 'someone@elsewhere.test',
      organization: null,
      methods: [{ type: 'password' }],
    });
    const bad = await discover('not-an-email');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_email');
    assert.equal((await t.anonymous().get('/api/v1/login/discover')).status, 400);
  });

  test('a pending domain captures nothing', async () => {
    await b.owner.post(`/api/v1/orgs/${b.orgId}/domains`, { domain: 'pending.test' });
    assert.equal((await discover('x@pending.test')).body.organization, null);
  });

  test('subdomains are captured only after the admin opts in', async () => {
    assert.equal((await discover('x@eu.acme.test')).body.organization, null);
    assert.equal(
      (await a.owner.patch(`/api/v1/orgs/${a.orgId}/domains/${domainId}`, { includeSubdomains: true })).status,
      200,
    );
    assert.equal((await discover('x@eu.acme.test')).body.organization?.id, a.orgId);
    assert.equal((await discover('x@deep.eu.acme.test')).body.organization?.id, a.orgId);
    assert.equal((await discover('x@notacme.test')).body.organization, null, 'suffix match is by label, not by string');
    await a.owner.patch(`/api/v1/orgs/${a.orgId}/domains/${domainId}`, { includeSubdomains: false });
    assert.equal((await discover('x@eu.acme.test')).body.organization, null);
  });

  test('a person at a captured domain cannot create a separate organization; the refusal points to their admins only', async () => {
    const res = await early.post('/api/v1/orgs', { name: 'Shadow IT' });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'email_domain_captured');
    assert.match(res.body.error.message, /your organization's administrators/);
    assert.ok(!res.raw.body.includes(ORG_A) && !res.raw.body.includes(a.orgId), res.raw.body);
    const ok = await b.owner.post('/api/v1/orgs', { name: 'Beta Labs' });
    assert.equal(ok.status, 201, 'people at other domains still can');
  });

  test('an address at a captured domain cannot be invited outside the capturing organization tree', async () => {
    const res = await b.owner.post(`/api/v1/orgs/${b.orgId}/members`, { email: 'New@Acme.test', role: 'member' });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'email_domain_captured');
    assert.match(res.body.error.message, /organization's administrators/);
    assert.ok(!res.raw.body.includes(ORG_A) && !res.raw.body.includes(a.orgId));
    const members = await b.owner.get(`/api/v1/orgs/${b.orgId}/members`);
    assert.ok(!members.body.data.some((m: { email: string }) => m.email === 'new@acme.test'));
  });

  test('the capturing organization and the rest of its tree can invite them', async () => {
    assert.equal(
      (await a.owner.post(`/api/v1/orgs/${a.orgId}/members`, { email: 'new@acme.test', role: 'member' })).status,
      201,
    );
    const child = await a.owner.post(`/api/v1/orgs/${a.orgId}/children`, { name: 'Acme EU' });
    assert.equal(
      (await a.owner.post(`/api/v1/orgs/${child.body.id}/members`, { email: 'eu@acme.test', role: 'member' })).status,
      201,
    );
    // A business unit that holds its own domain: its parent (same company) may invite, outsiders may not.
    const unit = await a.owner.post(`/api/v1/orgs/${child.body.id}/domains`, { domain: 'unit.test' });
    const acmeValue = (await a.owner.get(`/api/v1/orgs/${a.orgId}/domains/${domainId}`)).body.instructions.value;
    await dns.serve([
      `txt-record=_palisade-challenge.acme.test,"${acmeValue}"`,
      `txt-record=_palisade-challenge.unit.test,"${unit.body.instructions.value}"`,
    ]);
    assert.equal(
      (await a.owner.post(`/api/v1/orgs/${child.body.id}/domains/${unit.body.id}/verify`)).body.verified,
      true,
    );
    assert.equal((await discover('x@unit.test')).body.organization.id, child.body.id);
    assert.equal(
      (await a.owner.post(`/api/v1/orgs/${a.orgId}/members`, { email: 'hq@unit.test', role: 'member' })).status,
      201,
    );
    assert.equal(
      (await b.owner.post(`/api/v1/orgs/${b.orgId}/members`, { email: 'out@unit.test', role: 'member' })).status,
      403,
    );
  });

  test('auto-join: with it on, a person at the domain becomes a member as they sign in, once', async () => {
    const membersOfA = async () =>
      (await a.owner.get(`/api/v1/orgs/${a.orgId}/members?limit=200`)).body.data.map(
        (m: { email: string }) => m.email,
      ) as string[];
    await t.login('early@acme.test');
    assert.ok(!(await membersOfA()).includes('early@acme.test'), 'off by default');
    const on = await a.owner.patch(`/api/v1/orgs/${a.orgId}/domains/${domainId}`, { autoJoin: true });
    assert.equal(on.status, 200);
    assert.equal(on.body.autoJoin, true);
    assert.equal(on.body.includeSubdomains, false, 'the other setting is untouched');
    const agent = await t.login('early@acme.test');
    await t.login('early@acme.test');
    assert.equal((await membersOfA()).filter((e) => e === 'early@acme.test').length, 1);
    const me = await agent.get(`/api/v1/orgs/${a.orgId}`);
    assert.equal(me.status, 200);
    assert.equal(me.body.yourRole, 'member');
    const ev = (await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=member.auto_joined`)).body.data;
    assert.equal(ev.length, 1);
    assert.equal(ev[0].actor.email, 'early@acme.test');
    // Their other membership is untouched.
    assert.equal((await agent.get(`/api/v1/orgs/${b.orgId}`)).status, 200);
    assert.equal(
      (await a.owner.patch(`/api/v1/orgs/${a.orgId}/domains/${domainId}`, {})).status,
      400,
      'an empty change is refused',
    );
  });

  test('removing the domain stops capture at once', async () => {
    assert.equal((await a.owner.delete(`/api/v1/orgs/${a.orgId}/domains/${domainId}`)).status, 204);
    assert.equal((await discover('bob@acme.test')).body.organization, null);
    assert.equal(
      (await b.owner.post(`/api/v1/orgs/${b.orgId}/members`, { email: 'later@acme.test', role: 'member' })).status,
      201,
    );
    const [ev] = (await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=domain.removed`)).body.data;
    assert.equal(ev.metadata.capturedLogins, true);
  });
});
