import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Dnsmasq } from '../domains/dns-peers.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { IDP_SSO_URL, TestIdp, makeKeyPair } from './saml-peer.js';
import { idpMetadata } from './saml-peer.js';

const PUBLIC = 'http://palisade.test';
const BETA_NAME = 'Beta Internal Name';

/**
 * SSO just-in-time provisioning goes through domain capture, like password sign-in: an IdP speaks
 * for its own organization only, so it cannot add people at a domain another organization verified
 * (real dnsmasq for the verification, samlify as Acme's IdP).
 */
describe('SSO provisioning and domain capture', () => {
  let t: TestApp;
  let a: { orgId: string; owner: Agent };
  let b: { orgId: string; owner: Agent };
  let conn: { id: string; saml: { acsUrl: string; spEntityId: string } };
  let spMetadata: string;
  let idp: TestIdp;
  let childId: string;
  const domainIds: Record<string, string> = {};
  const dns = new Dnsmasq();

  async function signIn(email: string, groups: string[] = []) {
    const agent = t.anonymous();
    const start = await agent.get(`/sso/${conn.id}/start`);
    assert.equal(start.status, 302, start.raw.body);
    const location = String(start.headers.location);
    assert.ok(location.startsWith(IDP_SSO_URL));
    const requestId = await idp.requestIdFrom(location, spMetadata);
    const { samlResponse } = await idp.response(spMetadata, {
      nameId: email,
      attributes: { email: [email], groups },
      inResponseTo: requestId,
      destination: conn.saml.acsUrl,
      recipient: conn.saml.acsUrl,
      audience: conn.saml.spEntityId,
    });
    const res = await agent.request(
      'POST',
      `/sso/saml/${conn.id}/acs`,
      `SAMLResponse=${encodeURIComponent(samlResponse)}`,
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    return { res, agent };
  }
  const memberEmails = async (who: { owner: Agent }, orgId: string) =>
    (await who.owner.get(`/api/v1/orgs/${orgId}/members?limit=200`)).body.data as {
      email: string;
      role: string;
      status: string;
    }[];
  const userExists = async (email: string) =>
    !!(await t.db.database.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst());
  const failureEvent = async (orgId: string, owner: Agent, reference: string) =>
    (await owner.get(`/api/v1/orgs/${orgId}/audit-events?target=${reference}`)).body.data[0];

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    a = await t.seedOrg('Acme', 'owner@acme.test');
    b = await t.seedOrg(BETA_NAME, 'owner@beta.test');
    const key = makeKeyPair('acme-idp');
    idp = new TestIdp(key);
    const created = await a.owner.post(`/api/v1/orgs/${a.orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Acme IdP',
      saml: { metadataXml: idpMetadata([key.cert]) },
    });
    assert.equal(created.status, 201, created.raw.body);
    conn = created.body;
    spMetadata = (await t.anonymous().get(`/sso/saml/${conn.id}/metadata`)).raw.body;
    // Acme invited someone at beta.test before Beta verified the domain (allowed then).
    assert.equal(
      (await a.owner.post(`/api/v1/orgs/${a.orgId}/members`, { email: 'early@beta.test', role: 'member' })).status,
      201,
    );
    const child = await a.owner.post(`/api/v1/orgs/${a.orgId}/children`, { name: 'Acme Unit' });
    childId = child.body.id;
    const records: string[] = [];
    for (const [who, orgId, domain] of [
      [a, a.orgId, 'acme.test'],
      [b, b.orgId, 'beta.test'],
      [a, childId, 'unit.test'],
    ] as const) {
      const res = await who.owner.post(`/api/v1/orgs/${orgId}/domains`, { domain });
      assert.equal(res.status, 201, res.raw.body);
      domainIds[domain] = res.body.id;
      records.push(`txt-record=_palisade-challenge.${domain},"${res.body.instructions.value}"`);
    }
    await dns.serve(records);
    t.config.dnsServers = [dns.server];
    for (const [who, orgId, domain] of [
      [a, a.orgId, 'acme.test'],
      [b, b.orgId, 'beta.test'],
      [a, childId, 'unit.test'],
    ] as const) {
      assert.equal(
        (await who.owner.post(`/api/v1/orgs/${orgId}/domains/${domainIds[domain]}/verify`)).body.verified,
        true,
        domain,
      );
    }
    // Beta lets everyone at beta.test join on sign-in; the unit does the same for unit.test.
    assert.equal(
      (await b.owner.patch(`/api/v1/orgs/${b.orgId}/domains/${domainIds['beta.test']}`, { autoJoin: true })).status,
      200,
    );
    assert.equal(
      (await a.owner.patch(`/api/v1/orgs/${childId}/domains/${domainIds['unit.test']}`, { autoJoin: true })).status,
      200,
    );
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test("attack: Acme's IdP asserts a new person at beta.test (verified by Beta): refused, nobody created anywhere", async () => {
    for (const email of ['new@beta.test', 'Other@BETA.test']) {
      const { res, agent } = await signIn(email);
      assert.equal(res.status, 403, res.raw.body);
      assert.equal(res.headers['x-sso-error'], 'sso_email_domain_captured');
      assert.ok(
        !res.raw.body.includes(BETA_NAME) && !res.raw.body.includes(b.orgId),
        'the page does not name the capturing organization',
      );
      assert.equal((await agent.get('/api/v1/auth/session')).status, 401, 'no session');
      const ev = await failureEvent(a.orgId, a.owner, String(res.headers['x-sso-reference']));
      assert.equal(ev.metadata.code, 'sso_email_domain_captured');
      assert.match(ev.metadata.detail, /another organization verified/);
    }
    assert.equal(await userExists('new@beta.test'), false);
    assert.equal(await userExists('other@beta.test'), false);
    assert.ok(
      !(await memberEmails(a, a.orgId)).some((m) => m.email.endsWith('@beta.test') && m.email !== 'early@beta.test'),
    );
    assert.ok(
      !(await memberEmails(b, b.orgId)).some((m) => m.email === 'new@beta.test'),
      "Beta's auto-join is not triggered through Acme's IdP either",
    );
  });

  test("attack: Acme's IdP asserts a member of Beta: refused (an IdP never opens another tenant's account)", async () => {
    const { res } = await signIn('owner@beta.test');
    assert.equal(res.headers['x-sso-error'], 'sso_account_in_other_organization');
    assert.equal((await memberEmails(b, b.orgId)).length, 1);
  });

  test('the simulator shows the same decision and why, without naming Beta', async () => {
    const sim = await a.owner.post(`/api/v1/orgs/${a.orgId}/sso/connections/${conn.id}/simulate`, {
      claims: { email: 'new@beta.test' },
    });
    assert.equal(sim.status, 200, sim.raw.body);
    assert.equal(sim.body.wouldSucceed, false);
    assert.equal(sim.body.failure.code, 'sso_email_domain_captured');
    assert.equal(sim.body.domainCapture.capturedBy, 'another_organization');
    assert.equal(sim.body.domainCapture.domainId, null, "Beta's domain id is not shown");
    assert.ok(!sim.raw.body.includes(BETA_NAME) && !sim.raw.body.includes(b.orgId));
    const own = await a.owner.post(`/api/v1/orgs/${a.orgId}/sso/connections/${conn.id}/simulate`, {
      claims: { email: 'someone@acme.test' },
    });
    assert.equal(own.body.wouldSucceed, true);
    assert.equal(own.body.domainCapture.capturedBy, 'this_organization');
  });

  test("someone at beta.test who was Acme's member before Beta verified keeps signing in through Acme's IdP", async () => {
    const { res, agent } = await signIn('early@beta.test');
    assert.equal(res.status, 303, res.raw.body);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'early@beta.test');
    const early = (await memberEmails(a, a.orgId)).find((m) => m.email === 'early@beta.test');
    assert.equal(early?.status, 'active');
    assert.ok(!(await memberEmails(b, b.orgId)).some((m) => m.email === 'early@beta.test'), 'not moved into Beta');
  });

  test("Acme's own verified domain: JIT joins Acme", async () => {
    const { res } = await signIn('jit@acme.test');
    assert.equal(res.status, 303, res.raw.body);
    assert.equal((await memberEmails(a, a.orgId)).find((m) => m.email === 'jit@acme.test')?.role, 'member');
    const joined = (await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=member.joined`)).body.data[0];
    assert.equal(joined.metadata.via, 'sso_jit');
    assert.equal(joined.metadata.emailDomainCapturedBy, 'this_organization');
    assert.ok(
      joined.targets.some((x: { type: string; id: string }) => x.type === 'domain' && x.id === domainIds['acme.test']),
    );
  });

  test("with JIT off, the domain's auto-join decides, exactly as at password sign-in", async () => {
    assert.equal(
      (await a.owner.patch(`/api/v1/orgs/${a.orgId}/sso/connections/${conn.id}`, { jitEnabled: false })).status,
      200,
    );
    // Auto-join off (the default): nobody new gets in.
    const off = await signIn('off@acme.test');
    assert.equal(off.res.headers['x-sso-error'], 'sso_not_a_member');
    assert.equal(await userExists('off@acme.test'), false);
    // Auto-join on: a person at acme.test joins Acme as they sign in, once, as a member.
    assert.equal(
      (await a.owner.patch(`/api/v1/orgs/${a.orgId}/domains/${domainIds['acme.test']}`, { autoJoin: true })).status,
      200,
    );
    const on = await signIn('auto@acme.test');
    assert.equal(on.res.status, 303, on.res.raw.body);
    assert.equal((await on.agent.get(`/api/v1/orgs/${a.orgId}`)).body.yourRole, 'member');
    assert.equal((await signIn('auto@acme.test')).res.status, 303);
    assert.equal((await memberEmails(a, a.orgId)).filter((m) => m.email === 'auto@acme.test').length, 1);
    const ev = (await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=member.auto_joined`)).body.data;
    assert.equal(ev.length, 1);
    assert.equal(ev[0].actor.email, 'auto@acme.test');
    assert.ok(
      ev[0].targets.some((x: { type: string; id: string }) => x.type === 'domain' && x.id === domainIds['acme.test']),
    );
    const created = (await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=user.created`)).body.data[0];
    assert.equal(created.metadata.via, 'sso_domain_auto_join');
    // Auto-join is about the organization's own domain: elsewhere JIT-off still refuses, and Beta's domain stays refused.
    assert.equal((await signIn('x@elsewhere.test')).res.headers['x-sso-error'], 'sso_not_a_member');
    assert.equal((await signIn('late@beta.test')).res.headers['x-sso-error'], 'sso_email_domain_captured');
    assert.equal(await userExists('late@beta.test'), false);
    assert.equal(
      (await a.owner.patch(`/api/v1/orgs/${a.orgId}/sso/connections/${conn.id}`, { jitEnabled: true })).status,
      200,
    );
  });

  test('group mapping still sets the role of a person who joined by auto-join', async () => {
    await a.owner.request('PUT', `/api/v1/orgs/${a.orgId}/role-mapping`, {
      requiredPrefix: null,
      defaultRole: 'member',
      rules: [{ group: 'acme-admins', role: 'admin' }],
    });
    assert.equal(
      (await a.owner.patch(`/api/v1/orgs/${a.orgId}/sso/connections/${conn.id}`, { jitEnabled: false })).status,
      200,
    );
    const { res } = await signIn('boss@acme.test', ['acme-admins']);
    assert.equal(res.status, 303, res.raw.body);
    assert.equal((await memberEmails(a, a.orgId)).find((m) => m.email === 'boss@acme.test')?.role, 'admin');
    assert.equal(
      (await a.owner.patch(`/api/v1/orgs/${a.orgId}/sso/connections/${conn.id}`, { jitEnabled: true })).status,
      200,
    );
    await a.owner.request('PUT', `/api/v1/orgs/${a.orgId}/role-mapping`, {
      requiredPrefix: null,
      defaultRole: null,
      rules: [],
    });
  });

  test("a domain verified by another organization of the same company: Acme's IdP may add the person to Acme, not to the unit", async () => {
    const { res } = await signIn('u@unit.test');
    assert.equal(res.status, 303, res.raw.body);
    assert.ok((await memberEmails(a, a.orgId)).some((m) => m.email === 'u@unit.test'));
    assert.ok(
      !(await memberEmails(a, childId)).some((m) => m.email === 'u@unit.test'),
      "the unit's auto-join is not done through Acme's IdP",
    );
  });
});
