import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { samlMetadataRefreshJob } from '../../src/sso/jobs.js';
import {
  IDP_SSO_URL,
  type KeyPair,
  type ResponseFields,
  TestIdp,
  decode,
  encode,
  idpMetadata,
  makeKeyPair,
  parse,
  serialize,
} from './saml-peer.js';

const PUBLIC = 'http://palisade.test';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';

describe('SAML single sign-on with a samlify identity provider', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let conn: { id: string; saml: { acsUrl: string; spEntityId: string } };
  let spMetadata: string;
  let oldKey: KeyPair;
  let newKey: KeyPair;
  let attackerKey: KeyPair;
  let idp: TestIdp;

  const base = (): Omit<ResponseFields, 'inResponseTo'> => ({
    nameId: 'dana@acme.example',
    attributes: { email: ['dana@acme.example'], firstName: ['Dana'], lastName: ['Scully'], groups: ['acme-admins'] },
    destination: conn.saml.acsUrl,
    recipient: conn.saml.acsUrl,
    audience: conn.saml.spEntityId,
  });

  async function start(agent: Agent, connectionId = conn.id, testLogin = false): Promise<string> {
    const res = await agent.get(`/sso/${connectionId}/start${testLogin ? '?test=1' : ''}`);
    assert.equal(res.status, 302, res.raw.body);
    const location = String(res.headers.location);
    assert.ok(location.startsWith(`${IDP_SSO_URL}?SAMLRequest=`), location);
    return idp.requestIdFrom(location, spMetadata);
  }
  const post = (agent: Agent, samlResponse: string, connectionId = conn.id) =>
    agent.request('POST', `/sso/saml/${connectionId}/acs`, `SAMLResponse=${encodeURIComponent(samlResponse)}`, {
      'content-type': 'application/x-www-form-urlencoded',
    });

  async function expectRefused(res: Awaited<ReturnType<typeof post>>, code: string) {
    assert.equal(res.headers['x-sso-error'], code, res.raw.body);
    assert.ok(res.status >= 400);
    const reference = String(res.headers['x-sso-reference']);
    assert.ok(res.raw.body.includes(reference), 'the page gives the reference');
    const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?target=${reference}`);
    assert.equal(events.body.data.length, 1);
    assert.equal(events.body.data[0].metadata.code, code);
    return events.body.data[0].metadata as { check: string; expected?: unknown; received?: unknown };
  }

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    [oldKey, newKey, attackerKey] = [makeKeyPair('idp-2025'), makeKeyPair('idp-2026'), makeKeyPair('attacker')];
    idp = new TestIdp(oldKey);
    await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: 'member',
      rules: [{ group: 'acme-admins', role: 'admin' }],
    });
  });
  after(() => t.close());

  test('a connection is configured by uploading IdP metadata; SP metadata names entity id and ACS URL', async () => {
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Entra',
      preset: 'okta',
      saml: { metadataXml: idpMetadata([oldKey.cert]) },
    });
    assert.equal(res.status, 201, res.raw.body);
    conn = res.body;
    assert.equal(res.body.saml.idpEntityId, 'urn:test:idp');
    assert.equal(res.body.saml.idpSsoUrl, IDP_SSO_URL);
    assert.equal(res.body.saml.idpCertificates.length, 1);
    assert.equal(res.body.idpInitiated, false);
    const md = await t.anonymous().get(`/sso/saml/${conn.id}/metadata`);
    assert.equal(md.status, 200);
    spMetadata = md.raw.body;
    assert.ok(spMetadata.includes(`entityID="${conn.saml.spEntityId}"`));
    assert.ok(spMetadata.includes(`Location="${conn.saml.acsUrl}"`));
    const bad = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'x',
      saml: { metadataXml: '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e"/>' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_idp_metadata');
  });

  test('SP-initiated login end to end: JIT user, prefixed group → admin, session', async () => {
    const agent = t.anonymous();
    const requestId = await start(agent);
    const { samlResponse } = await idp.response(spMetadata, { ...base(), inResponseTo: requestId });
    const res = await post(agent, samlResponse);
    assert.equal(res.status, 303, res.raw.body);
    const me = await agent.get('/api/v1/auth/session');
    assert.equal(me.body.user.email, 'dana@acme.example');
    const members = await owner.get(`/api/v1/orgs/${orgId}/members`);
    assert.equal(members.body.data.find((m: { email: string }) => m.email === 'dana@acme.example').role, 'admin');
  });

  test('a person who already has a session signs in again through the ACS form post (no CSRF header from an IdP)', async () => {
    const agent = await t.login('owner@acme.example');
    const { samlResponse } = await idp.response(spMetadata, { ...base(), inResponseTo: await start(agent) });
    agent.csrf = undefined; // a browser's form post carries the cookie but no CSRF header
    const res = await post(agent, samlResponse);
    assert.equal(res.status, 303, res.raw.body);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'dana@acme.example');
    agent.csrf = undefined;
    const other = await agent.post('/api/v1/me/tokens', { name: 'x' });
    assert.equal(other.body.error.code, 'csrf_token_invalid', 'other routes still need the header');
  });

  test("encrypted assertions: the IdP encrypts to the SP certificate from Palisade's metadata, Palisade decrypts", async () => {
    assert.match(spMetadata, /use="encryption"/);
    assert.ok(
      !JSON.stringify((await owner.get(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}`)).body).includes(
        'PRIVATE KEY',
      ),
      'the SP private key is never returned',
    );
    const agent = t.anonymous();
    const { samlResponse } = await new TestIdp(oldKey, true).response(spMetadata, {
      ...base(),
      inResponseTo: await start(agent),
    });
    const xml = decode(samlResponse);
    assert.ok(
      xml.includes('EncryptedAssertion') && !xml.includes('dana@acme.example'),
      'the assertion travels encrypted',
    );
    const res = await post(agent, samlResponse);
    assert.equal(res.status, 303, res.raw.body);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'dana@acme.example');
    const foreign = await new TestIdp(attackerKey, true).response(spMetadata, {
      ...base(),
      inResponseTo: await start(t.anonymous()),
    });
    await expectRefused(await post(t.anonymous(), foreign.samlResponse), 'saml_bad_signature');
  });

  test('attack: a response for a sign-in started in another browser is refused (login CSRF)', async () => {
    const attacker = t.anonymous();
    const { samlResponse } = await idp.response(spMetadata, { ...base(), inResponseTo: await start(attacker) });
    const meta = await expectRefused(await post(t.anonymous(), samlResponse), 'sso_browser_mismatch');
    assert.equal(meta.received, 'no cookie');
  });

  test('attack: replaying a used response is refused as a replay', async () => {
    const agent = t.anonymous();
    const { samlResponse } = await idp.response(spMetadata, { ...base(), inResponseTo: await start(agent) });
    assert.equal((await post(agent, samlResponse)).status, 303);
    const meta = await expectRefused(await post(t.anonymous(), samlResponse), 'saml_assertion_replayed');
    assert.equal(meta.check, 'assertion used only once');
  });

  test('attack: an unsigned assertion is refused', async () => {
    const { samlResponse } = await idp.response(spMetadata, { ...base(), inResponseTo: await start(t.anonymous()) });
    const doc = parse(decode(samlResponse));
    const sig = doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0]!;
    sig.parentNode!.removeChild(sig);
    await expectRefused(await post(t.anonymous(), encode(serialize(doc))), 'saml_unsigned');
  });

  test('attack: a response signed by another key is refused', async () => {
    const requestId = await start(t.anonymous());
    const { samlResponse } = await new TestIdp(attackerKey).response(spMetadata, {
      ...base(),
      inResponseTo: requestId,
    });
    await expectRefused(await post(t.anonymous(), samlResponse), 'saml_bad_signature');
  });

  async function wrapped(form: 'sibling' | 'nested') {
    const requestId = await start(t.anonymous());
    const { samlResponse } = await idp.response(spMetadata, {
      ...base(),
      nameId: 'eve@acme.example',
      attributes: { email: ['eve@acme.example'], groups: ['acme-staff'] },
      inResponseTo: requestId,
    });
    const doc = parse(decode(samlResponse));
    const signed = doc.getElementsByTagNameNS(ASSERTION_NS, 'Assertion')[0]!;
    const evil = signed.cloneNode(true) as Element;
    evil.setAttribute('ID', '_evil');
    const evilSig = evil.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0]!;
    evil.removeChild(evilSig);
    for (const v of Array.from(evil.getElementsByTagNameNS(ASSERTION_NS, 'NameID')))
      v.textContent = 'owner@acme.example';
    for (const v of Array.from(evil.getElementsByTagNameNS(ASSERTION_NS, 'AttributeValue')))
      if (v.textContent === 'eve@acme.example') v.textContent = 'owner@acme.example';
    if (form === 'sibling') signed.parentNode!.insertBefore(evil, signed);
    else {
      // The evil assertion takes the signed one's place and carries it inside, where a naive verifier still finds it.
      signed.parentNode!.replaceChild(evil, signed);
      evil.appendChild(signed);
    }
    return encode(serialize(doc));
  }

  test('attack: signature wrapping, evil assertion beside the signed one', async () => {
    const meta = await expectRefused(await post(t.anonymous(), await wrapped('sibling')), 'saml_signature_wrapping');
    assert.equal(meta.expected, 1);
    assert.equal(meta.received, 2);
  });

  test('attack: signature wrapping, signed assertion hidden inside the evil one', async () => {
    await expectRefused(await post(t.anonymous(), await wrapped('nested')), 'saml_signature_wrapping');
    const members = await owner.get(`/api/v1/orgs/${orgId}/members`);
    assert.ok(!members.body.data.some((m: { email: string }) => m.email === 'eve@acme.example'));
  });

  test('attack: an XML comment inside NameID is refused', async () => {
    const { samlResponse } = await idp.response(spMetadata, {
      ...base(),
      nameId: 'owner@acme.example<!---->.evil.example',
      attributes: { groups: ['acme-admins'] },
      inResponseTo: await start(t.anonymous()),
    });
    const meta = await expectRefused(await post(t.anonymous(), samlResponse), 'saml_comment_in_identity');
    assert.equal(meta.received, 'owner@acme.example.evil.example');
  });

  test('attack: wrong audience', async () => {
    const { samlResponse } = await idp.response(spMetadata, {
      ...base(),
      audience: 'urn:some-other-sp',
      inResponseTo: await start(t.anonymous()),
    });
    const meta = await expectRefused(await post(t.anonymous(), samlResponse), 'saml_wrong_audience');
    assert.equal(meta.expected, conn.saml.spEntityId);
  });

  test('attack: wrong recipient', async () => {
    const { samlResponse } = await idp.response(spMetadata, {
      ...base(),
      recipient: 'https://evil.example/acs',
      inResponseTo: await start(t.anonymous()),
    });
    const meta = await expectRefused(await post(t.anonymous(), samlResponse), 'saml_wrong_recipient');
    assert.deepEqual(meta.received, ['https://evil.example/acs']);
  });

  test('attack: wrong destination', async () => {
    const { samlResponse } = await idp.response(spMetadata, {
      ...base(),
      destination: 'https://evil.example/acs',
      inResponseTo: await start(t.anonymous()),
    });
    await expectRefused(await post(t.anonymous(), samlResponse), 'saml_wrong_destination');
  });

  test('attack: an expired assertion (beyond the clock skew) is refused', async () => {
    const past = Date.now() - 60 * 60_000;
    const { samlResponse } = await idp.response(spMetadata, {
      ...base(),
      notBefore: new Date(past - 60_000),
      notOnOrAfter: new Date(past),
      inResponseTo: await start(t.anonymous()),
    });
    await expectRefused(await post(t.anonymous(), samlResponse), 'saml_assertion_expired');
  });

  test('attack: IdP-initiated login is refused while it is off (the default)', async () => {
    const { samlResponse } = await idp.response(spMetadata, { ...base(), inResponseTo: null });
    const meta = await expectRefused(await post(t.anonymous(), samlResponse), 'saml_idp_initiated_disabled');
    assert.equal(meta.received, 'unsolicited response');
  });

  test('attack: a response to a request Palisade never sent is refused', async () => {
    const { samlResponse } = await idp.response(spMetadata, { ...base(), inResponseTo: '_never-sent' });
    await expectRefused(await post(t.anonymous(), samlResponse), 'saml_in_response_to_invalid');
  });

  test("attack: a response for another organization's connection cannot be posted to this one", async () => {
    const other = await t.seedOrg('Other', 'owner@other.example');
    const created = await other.owner.post(`/api/v1/orgs/${other.orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Other IdP',
      saml: { metadataXml: idpMetadata([oldKey.cert]) },
    });
    assert.equal(created.status, 201);
    // A request started at the other organization's connection, answered to ours.
    const otherMd = (await t.anonymous().get(`/sso/saml/${created.body.id}/metadata`)).raw.body;
    const res = await t.anonymous().get(`/sso/${created.body.id}/start`);
    const requestId = await idp.requestIdFrom(String(res.headers.location), otherMd);
    const { samlResponse } = await idp.response(spMetadata, { ...base(), inResponseTo: requestId });
    await expectRefused(await post(t.anonymous(), samlResponse), 'saml_in_response_to_invalid');
    // The other organization controls its IdP: it cannot use it to sign in an account of ours.
    const otherConn = created.body as { id: string; saml: { acsUrl: string; spEntityId: string } };
    const attacker = t.anonymous();
    const hijack = await attacker.get(`/sso/${otherConn.id}/start`);
    const hijackRequest = await idp.requestIdFrom(String(hijack.headers.location), otherMd);
    const forged = await idp.response(otherMd, {
      nameId: 'owner@acme.example',
      attributes: { email: ['owner@acme.example'] },
      destination: otherConn.saml.acsUrl,
      recipient: otherConn.saml.acsUrl,
      audience: otherConn.saml.spEntityId,
      inResponseTo: hijackRequest,
    });
    const takeover = await post(attacker, forged.samlResponse, otherConn.id);
    assert.equal(takeover.headers['x-sso-error'], 'sso_account_in_other_organization');
    assert.equal(takeover.status, 403);
    // And an admin of the other organization cannot start a test login on ours.
    const cross = await other.owner.get(`/sso/${conn.id}/start?test=1`);
    assert.equal(cross.status, 404);
  });

  test('the simulator reads a pasted SAML response without spending it', async () => {
    const agent = t.anonymous();
    const { samlResponse } = await idp.response(spMetadata, { ...base(), inResponseTo: await start(agent) });
    const sim = await owner.post(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}/simulate`, { samlResponse });
    assert.equal(sim.status, 200, sim.raw.body);
    assert.equal(sim.body.wouldSucceed, true);
    assert.equal(sim.body.identity.email, 'dana@acme.example');
    assert.equal(sim.body.role, 'admin');
    assert.equal(sim.body.organization.id, orgId);
    assert.equal(sim.body.mapping.groups[0].outcome, 'matched');
    assert.equal((await post(agent, samlResponse)).status, 303, 'the real login still works after the dry run');
    const wrappedSim = await owner.post(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}/simulate`, {
      samlResponse: await wrapped('sibling'),
    });
    assert.equal(wrappedSim.body.wouldSucceed, false);
    assert.equal(wrappedSim.body.failure.code, 'saml_signature_wrapping');
  });

  test('a connection change is replayed against recent logins: who would lose their role, and nothing changes', async () => {
    const impact = (changes: Record<string, unknown>) =>
      owner.post(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}/impact`, { changes });
    const res = await impact({ claims: { groups: 'memberOf' } });
    assert.equal(res.status, 200, res.raw.body);
    const dana = res.body.warnings.find((w: { email: string }) => w.email === 'dana@acme.example');
    assert.deepEqual([dana?.problem, dana?.before, dana?.after], ['would_lose_role', 'admin', 'member']);
    const rotated = await impact({ saml: { certificates: [attackerKey.cert] } });
    assert.ok(
      rotated.body.warnings.length >= 1 &&
        rotated.body.warnings.every((w: { problem: string }) => w.problem === 'would_fail'),
      rotated.raw.body,
    );
    assert.match(rotated.body.warnings[0].explanation, /no longer trust/);
    const after = await owner.get(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}`);
    assert.equal(after.body.claims.groups, 'groups', 'the preview changed nothing');
    assert.equal(after.body.saml.idpCertificates.length, 1);
  });

  test('certificate rollover: with two certificates both keys are accepted', async () => {
    const upd = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}`, {
      saml: { metadataXml: idpMetadata([oldKey.cert, newKey.cert]) },
    });
    assert.equal(upd.status, 200, upd.raw.body);
    assert.equal(upd.body.saml.idpCertificates.length, 2);
    for (const key of [oldKey, newKey]) {
      const agent = t.anonymous();
      const { samlResponse } = await new TestIdp(key).response(spMetadata, {
        ...base(),
        inResponseTo: await start(agent),
      });
      assert.equal((await post(agent, samlResponse)).status, 303);
    }
  });

  test('metadata by URL: downloaded at creation, refreshed by the job, a published next certificate is picked up', async () => {
    let served = idpMetadata([oldKey.cert]);
    const server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(served),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`;
    try {
      const created = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
        protocol: 'saml',
        name: 'By URL',
        saml: { metadataUrl: url },
      });
      assert.equal(created.status, 201, created.raw.body);
      assert.equal(created.body.saml.idpMetadataUrl, url);
      assert.equal(created.body.saml.idpCertificates.length, 1);
      const job = samlMetadataRefreshJob();
      assert.deepEqual(await job.run(t.system), { checked: 1, changed: 0, failed: 0 });
      served = idpMetadata([oldKey.cert, newKey.cert]);
      assert.deepEqual(await job.run(t.system), { checked: 1, changed: 1, failed: 0 });
      const after = await owner.get(`/api/v1/orgs/${orgId}/sso/connections/${created.body.id}`);
      assert.equal(after.body.saml.idpCertificates.length, 2);
      const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.metadata_refreshed`);
      assert.equal(events.body.data[0].metadata.certificatesAdded.length, 1);
      served = 'not xml at all';
      assert.deepEqual(await job.run(t.system), { checked: 1, changed: 0, failed: 1 });
      await job.run(t.system);
      const failures = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.metadata_refresh_failed`);
      assert.equal(failures.body.data.length, 1, 'a failing refresh is audited once, not on every retry');
      const kept = await owner.get(`/api/v1/orgs/${orgId}/sso/connections/${created.body.id}`);
      assert.equal(kept.body.saml.idpCertificates.length, 2, 'bad metadata never replaces good settings');
      assert.match(kept.body.saml.idpMetadataError, /metadata/);
      const unreachable = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
        protocol: 'saml',
        name: 'Nowhere',
        saml: { metadataUrl: 'http://127.0.0.1:9/metadata' },
      });
      assert.equal(unreachable.status, 502);
      assert.equal(unreachable.body.error.code, 'idp_metadata_unreachable');
      assert.equal((await owner.delete(`/api/v1/orgs/${orgId}/sso/connections/${created.body.id}`)).status, 204);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('IdP-initiated login works once the admin turns it on', async () => {
    const upd = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}`, { idpInitiated: true });
    assert.equal(upd.status, 200, upd.raw.body);
    const agent = t.anonymous();
    const { samlResponse } = await idp.response(spMetadata, { ...base(), inResponseTo: null });
    assert.equal((await post(agent, samlResponse)).status, 303);
    await expectRefused(await post(t.anonymous(), samlResponse), 'saml_assertion_replayed');
  });
});
