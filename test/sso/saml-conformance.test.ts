import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { IDP_SSO_URL, type KeyPair, TestIdp, decode, encode, idpMetadata, makeKeyPair } from './saml-peer.js';
import { samlpResponse } from './samlp-peer.js';
import { signatureTemplate, xmlsecSign, xmlsecVerify } from './xmlsec.js';

/**
 * SAML against an IdP Palisade has not seen (Auth0's samlp, its own signer) and the attack corpus
 * that found the gaps: Issuer never checked for logins (one certificate trusted by two tenants), an
 * error status next to a signed assertion, SHA-1, assertions valid for years, DTDs, re-wrapped
 * assertions. xmlsec1 independently confirms that a SHA-1 response Palisade refuses is validly
 * signed: it is refused for its algorithm, not for a broken signature.
 */
const PUBLIC = 'http://palisade.test';
const IDP_A = 'urn:test:idp';
const IDP_B = 'https://idp.other-tenant.example/metadata';
const EMAIL_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress';

/** A response written by hand and signed by xmlsec1: for shapes no IdP library will produce (an assertion without Issuer). */
function handResponse(
  f: { acs: string; audience: string; inResponseTo: string; email: string; assertionIssuer: string | null },
  keys: KeyPair,
): string {
  const now = new Date();
  const later = new Date(now.getTime() + 5 * 60_000).toISOString();
  const id = `_a${randomUUID()}`;
  const xml =
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${randomUUID()}" Version="2.0" IssueInstant="${now.toISOString()}" Destination="${f.acs}" InResponseTo="${f.inResponseTo}">` +
    `<saml:Issuer>${IDP_A}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion ID="${id}" Version="2.0" IssueInstant="${now.toISOString()}">${f.assertionIssuer === null ? '' : `<saml:Issuer>${f.assertionIssuer}</saml:Issuer>`}${signatureTemplate(id)}` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${f.email}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${later}" Recipient="${f.acs}" InResponseTo="${f.inResponseTo}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${new Date(now.getTime() - 60_000).toISOString()}" NotOnOrAfter="${later}"><saml:AudienceRestriction><saml:Audience>${f.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${now.toISOString()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement><saml:Attribute Name="${EMAIL_CLAIM}"><saml:AttributeValue>${f.email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>`;
  return encode(xmlsecSign(xml, keys));
}

describe('SAML conformance with an unseen IdP and the attack corpus', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let key: KeyPair;
  let conn: { id: string; saml: { acsUrl: string; spEntityId: string; spCertificate: string } };
  let spMetadata: string;
  let samlify: TestIdp;

  const start = async (agent: Agent, connectionId = conn.id, metadata = spMetadata) => {
    const res = await agent.get(`/sso/${connectionId}/start`);
    assert.equal(res.status, 302, res.raw.body);
    assert.ok(String(res.headers.location).startsWith(IDP_SSO_URL));
    return samlify.requestIdFrom(String(res.headers.location), metadata);
  };
  const post = (agent: Agent, samlResponse: string, connectionId = conn.id) =>
    agent.request('POST', `/sso/saml/${connectionId}/acs`, `SAMLResponse=${encodeURIComponent(samlResponse)}`, {
      'content-type': 'application/x-www-form-urlencoded',
    });
  const refused = async (res: Awaited<ReturnType<typeof post>>, code: string) => {
    assert.equal(res.headers['x-sso-error'], code, res.raw.body.slice(0, 400));
    assert.ok(res.status >= 400 && res.status < 500);
    const events = await owner.get(
      `/api/v1/orgs/${orgId}/audit-events?target=${String(res.headers['x-sso-reference'])}`,
    );
    assert.equal(events.body.data.length, 1);
    assert.equal(events.body.data[0].metadata.code, code);
    return events.body.data[0].metadata as { check: string; expected?: unknown; received?: unknown; detail?: string };
  };
  const samlpFor = async (agent: Agent, extra: Partial<Parameters<typeof samlpResponse>[0]> = {}) =>
    samlpResponse({
      key: key.key,
      cert: key.cert,
      issuer: IDP_A,
      audience: conn.saml.spEntityId,
      recipient: conn.saml.acsUrl,
      destination: conn.saml.acsUrl,
      inResponseTo: await start(agent),
      user: { id: 'u1', email: 'erin@acme.example', groups: ['acme-admins'] },
      ...extra,
    });

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC, samlMaxAssertionLifetimeMinutes: 120 });
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: 'member',
      rules: [{ group: 'acme-admins', role: 'admin' }],
    });
    key = makeKeyPair('shared-idp-signing');
    samlify = new TestIdp(key);
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Unseen IdP',
      preset: 'entra',
      claims: { groups: 'http://schemas.passportjs.com/groups' },
      saml: { metadataXml: idpMetadata([key.cert]) },
    });
    assert.equal(res.status, 201, res.raw.body);
    conn = res.body;
    assert.equal(res.body.saml.allowSha1Signatures, false);
    spMetadata = (await t.anonymous().get(`/sso/saml/${conn.id}/metadata`)).raw.body;
  });
  after(() => t.close());

  test('an unseen IdP (samlp) signs in with SHA-256, its own templates and encryption', async () => {
    const agent = t.anonymous();
    const res = await post(agent, await samlpFor(agent));
    assert.equal(res.status, 303, res.raw.body);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'erin@acme.example');
    const encrypted = t.anonymous();
    const enc = await post(
      encrypted,
      await samlpFor(encrypted, {
        encryptionCert: conn.saml.spCertificate,
        user: { id: 'u2', email: 'enc@acme.example' },
      }),
    );
    assert.equal(enc.status, 303, enc.raw.body);
  });

  describe('Issuer', () => {
    test("one certificate trusted by two tenants: the other tenant's assertion is refused here (response Issuer)", async () => {
      const other = await t.seedOrg('Other tenant', 'owner@other.example');
      const mine = await other.owner.post(`/api/v1/orgs/${other.orgId}/sso/connections`, {
        protocol: 'saml',
        name: 'Same cert',
        saml: { entityId: IDP_B, ssoUrl: IDP_SSO_URL, certificates: [key.cert] },
      });
      assert.equal(mine.status, 201, mine.raw.body);
      // The other tenant's IdP (same signing key) mints an assertion naming itself, aimed at our ACS.
      const agent = t.anonymous();
      const res = await post(
        agent,
        await samlpFor(agent, { issuer: IDP_B, user: { id: 'x', email: 'owner@acme.example' } }),
      );
      const meta = await refused(res, 'saml_wrong_issuer');
      assert.equal(meta.expected, IDP_A);
      assert.equal(meta.received, IDP_B);
      assert.equal((await agent.get('/api/v1/auth/session')).status, 401);
    });

    test('an assertion Issuer that differs from the response Issuer is refused', async () => {
      const agent = t.anonymous();
      const { samlResponse } = await samlify.response(
        spMetadata,
        {
          nameId: 'erin@acme.example',
          attributes: { [EMAIL_CLAIM]: ['erin@acme.example'] },
          destination: conn.saml.acsUrl,
          recipient: conn.saml.acsUrl,
          audience: conn.saml.spEntityId,
          inResponseTo: await start(agent),
        },
        (xml) => xml.replace(/(<saml:Assertion [^>]*><saml:Issuer>)urn:test:idp(<\/saml:Issuer>)/, `$1${IDP_B}$2`),
      );
      const meta = await refused(await post(agent, samlResponse), 'saml_wrong_issuer');
      assert.match(meta.check, /^Assertion Issuer/);
    });

    test('an assertion without an Issuer is refused (saml_issuer_missing), though xmlsec1 signed it validly', async () => {
      // The control: the same hand-written response with its Issuer signs in.
      const ok = t.anonymous();
      const good = handResponse(
        {
          acs: conn.saml.acsUrl,
          audience: conn.saml.spEntityId,
          inResponseTo: await start(ok),
          email: 'hand@acme.example',
          assertionIssuer: IDP_A,
        },
        key,
      );
      assert.equal((await post(ok, good)).status, 303);
      const agent = t.anonymous();
      const bare = handResponse(
        {
          acs: conn.saml.acsUrl,
          audience: conn.saml.spEntityId,
          inResponseTo: await start(agent),
          email: 'hand@acme.example',
          assertionIssuer: null,
        },
        key,
      );
      xmlsecVerify(decode(bare), key.cert);
      const meta = await refused(await post(agent, bare), 'saml_issuer_missing');
      assert.match(meta.check, /^Assertion names its Issuer/);
    });

    test('a signed response without an Issuer is refused; an unsigned one may omit it (SAML profiles §4.1.4.2)', async () => {
      const agent = t.anonymous();
      const signed = await samlpFor(agent, { signResponse: true });
      const stripped = encode(
        decode(signed).replace(
          /<saml:Issuer[^>]*>urn:test:idp<\/saml:Issuer>(?=<samlp:Status|<Signature|<ds:Signature)/,
          '',
        ),
      );
      const res = await post(agent, stripped);
      assert.ok(
        ['saml_issuer_missing', 'saml_bad_signature'].includes(String(res.headers['x-sso-error'])),
        String(res.headers['x-sso-error']),
      );
      const plain = t.anonymous();
      const { samlResponse } = await samlify.response(
        spMetadata,
        {
          nameId: 'erin@acme.example',
          attributes: { [EMAIL_CLAIM]: ['erin@acme.example'] },
          destination: conn.saml.acsUrl,
          recipient: conn.saml.acsUrl,
          audience: conn.saml.spEntityId,
          inResponseTo: await start(plain),
        },
        (xml) => xml.replace(/(<samlp:Response [^>]*>)<saml:Issuer>urn:test:idp<\/saml:Issuer>/, '$1'),
      );
      assert.equal((await post(plain, samlResponse)).status, 303);
    });
  });

  test('a status other than Success is the IdP refusing, even with a signed assertion beside it', async () => {
    const agent = t.anonymous();
    const res = await post(
      agent,
      await samlpFor(agent, { samlStatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }),
    );
    assert.match(
      decode(await samlpFor(t.anonymous(), { samlStatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' })),
      /<saml:Assertion/,
      'the response does carry an assertion',
    );
    const meta = await refused(res, 'saml_idp_error');
    assert.deepEqual(meta.received, { code: 'urn:oasis:names:tc:SAML:2.0:status:Responder', subcode: null });
    assert.match(meta.detail ?? '', /answered Responder/);
    assert.equal((await agent.get('/api/v1/auth/session')).status, 401);
  });

  describe('SHA-1', () => {
    let sha1: string;
    test('refused by default, though the signature verifies (xmlsec1 says so)', async () => {
      const agent = t.anonymous();
      sha1 = await samlpFor(agent, { signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' });
      const xml = decode(sha1);
      assert.match(xml, /xmldsig#rsa-sha1/);
      // An independent implementation verifies this signature.
      xmlsecVerify(xml, key.cert);
      const meta = await refused(await post(agent, sha1), 'saml_weak_algorithm');
      assert.deepEqual(meta.received, [
        'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
        'http://www.w3.org/2000/09/xmldsig#sha1',
      ]);
      assert.match(meta.detail ?? '', /allowSha1Signatures/);
    });

    test('allowed only on a connection that says so, and saying so is audited', async () => {
      const on = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}`, {
        saml: { allowSha1Signatures: true },
      });
      assert.equal(on.status, 200, on.raw.body);
      assert.equal(on.body.saml.allowSha1Signatures, true);
      const event = (await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.connection_updated&limit=1`)).body
        .data[0];
      assert.equal(event.metadata.allowSha1Signatures, true);
      assert.ok(event.metadata.fields.includes('saml_allow_sha1'));
      const agent = t.anonymous();
      const res = await post(agent, await samlpFor(agent, { signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' }));
      assert.equal(res.status, 303, res.raw.body);
      // Even then, broken encryption is refused.
      const enc = t.anonymous();
      const tdes = await post(
        enc,
        await samlpFor(enc, {
          encryptionCert: conn.saml.spCertificate,
          encryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#tripledes-cbc',
        }),
      );
      await refused(tdes, 'saml_insecure_encryption');
      const off = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}`, {
        saml: { allowSha1Signatures: false },
      });
      assert.equal(off.body.saml.allowSha1Signatures, false);
      const again = t.anonymous();
      await refused(
        await post(again, await samlpFor(again, { signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' })),
        'saml_weak_algorithm',
      );
    });
  });

  describe('validity window', () => {
    test('an assertion valid for years is refused; one valid for an hour (Entra) is accepted', async () => {
      const agent = t.anonymous();
      const meta = await refused(
        await post(agent, await samlpFor(agent, { lifetimeInSeconds: 3 * 365 * 86_400 })),
        'saml_assertion_lifetime_too_long',
      );
      assert.match(meta.detail ?? '', /valid for 1576800 minutes.*PALISADE_SAML_MAX_ASSERTION_LIFETIME_MINUTES/);
      const hour = t.anonymous();
      assert.equal((await post(hour, await samlpFor(hour, { lifetimeInSeconds: 3600 }))).status, 303);
    });

    test('an assertion issued in the future is refused', async () => {
      const agent = t.anonymous();
      const { samlResponse } = await samlify.response(
        spMetadata,
        {
          nameId: 'erin@acme.example',
          attributes: { [EMAIL_CLAIM]: ['erin@acme.example'] },
          destination: conn.saml.acsUrl,
          recipient: conn.saml.acsUrl,
          audience: conn.saml.spEntityId,
          inResponseTo: await start(agent),
        },
        (xml) =>
          xml.replace(
            /(<saml:Assertion [^>]*IssueInstant=")[^"]+/,
            `$1${new Date(Date.now() + 3600_000).toISOString()}`,
          ),
      );
      await refused(await post(agent, samlResponse), 'saml_issue_instant_invalid');
    });
  });

  describe('structure', () => {
    test('a document type declaration is refused before parsing', async () => {
      const xml = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "${'a'.repeat(10)}">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Version="2.0">&x;</samlp:Response>`;
      const meta = await refused(await post(t.anonymous(), encode(xml)), 'saml_malformed');
      assert.equal(meta.check, 'no document type declaration');
    });

    test('a signed assertion minted for one request, re-wrapped in a response to another, is refused', async () => {
      const victim = t.anonymous();
      const other = await start(t.anonymous());
      const { samlResponse } = await samlify.response(
        spMetadata,
        {
          nameId: 'erin@acme.example',
          attributes: { [EMAIL_CLAIM]: ['erin@acme.example'] },
          destination: conn.saml.acsUrl,
          recipient: conn.saml.acsUrl,
          audience: conn.saml.spEntityId,
          inResponseTo: await start(victim),
        },
        (xml) => xml.replace(/(<saml:SubjectConfirmationData [^>]*InResponseTo=")[^"]+/, `$1${other}`),
      );
      await refused(await post(victim, samlResponse), 'saml_in_response_to_invalid');
    });

    test("attack: an assertion solicited by someone's sign-in, replayed as an unsolicited (IdP-initiated) response in another browser, is refused", async () => {
      const open = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
        protocol: 'saml',
        name: 'IdP-initiated on',
        preset: 'entra',
        idpInitiated: true,
        saml: { metadataXml: idpMetadata([key.cert]) },
      });
      assert.equal(open.status, 201, open.raw.body);
      const md = (await t.anonymous().get(`/sso/saml/${open.body.id}/metadata`)).raw.body;
      // The victim's browser starts a sign-in; the assertion the IdP mints for it is lifted.
      const solicited = await start(t.anonymous(), open.body.id, md);
      const { samlResponse } = await samlify.response(
        md,
        {
          nameId: 'erin@acme.example',
          attributes: { [EMAIL_CLAIM]: ['erin@acme.example'] },
          destination: open.body.saml.acsUrl,
          recipient: open.body.saml.acsUrl,
          audience: open.body.saml.spEntityId,
          inResponseTo: solicited,
        },
        (xml) =>
          // The envelope says "unsolicited"; only the signed assertion still names the request.
          xml.replace(/(<samlp:Response [^>]*) InResponseTo="[^"]+"/, '$1'),
      );
      const attacker = t.anonymous();
      const meta = await refused(await post(attacker, samlResponse, open.body.id), 'saml_in_response_to_invalid');
      assert.match(meta.check, /signed SubjectConfirmationData InResponseTo equals the Response InResponseTo/);
      assert.equal((await attacker.get('/api/v1/auth/session')).status, 401);
    });

    test('a subject confirmation that is not bearer is refused', async () => {
      const agent = t.anonymous();
      const { samlResponse } = await samlify.response(
        spMetadata,
        {
          nameId: 'erin@acme.example',
          attributes: { [EMAIL_CLAIM]: ['erin@acme.example'] },
          destination: conn.saml.acsUrl,
          recipient: conn.saml.acsUrl,
          audience: conn.saml.spEntityId,
          inResponseTo: await start(agent),
        },
        (xml) => xml.replace('urn:oasis:names:tc:SAML:2.0:cm:bearer', 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key'),
      );
      await refused(await post(agent, samlResponse), 'saml_no_bearer_confirmation');
    });

    test('a group name with a space in one AttributeValue stays one group', async () => {
      const agent = t.anonymous();
      const { samlResponse } = await samlify.response(spMetadata, {
        nameId: 'erin@acme.example',
        attributes: { [EMAIL_CLAIM]: ['erin@acme.example'], 'http://schemas.passportjs.com/groups': ['Domain Admins'] },
        destination: conn.saml.acsUrl,
        recipient: conn.saml.acsUrl,
        audience: conn.saml.spEntityId,
        inResponseTo: await start(agent),
      });
      const sim = await owner.post(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}/simulate`, { samlResponse });
      assert.equal(sim.status, 200, sim.raw.body);
      assert.deepEqual(sim.body.identity.groups, ['Domain Admins']);
    });
  });
});
