import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignedXml } from 'xml-crypto';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { IDP_SSO_URL, type KeyPair, TestIdp, decode, encode, idpMetadata, makeKeyPair } from './saml-peer.js';

/**
 * The signature rules of Palisade's own SAML verifier (src/sso/saml-signature.ts), each against a
 * response the samlify IdP signed: a Response signature must verify too, the signed element's ID
 * must name it and no other element (under any of ID/Id/id), every AudienceRestriction applies, and
 * the certificate that verified is the one reported.
 */
describe('SAML verifier: signature scope, response signatures, audiences', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let conn: { id: string; saml: { acsUrl: string; spEntityId: string } };
  let spMetadata: string;
  let idpKey: KeyPair;
  let otherKey: KeyPair;
  let idp: TestIdp;

  const fields = (inResponseTo: string) => ({
    nameId: 'vera@verify.example',
    attributes: { email: ['vera@verify.example'], groups: ['staff', 'eng'] },
    destination: conn.saml.acsUrl,
    recipient: conn.saml.acsUrl,
    audience: conn.saml.spEntityId,
    inResponseTo,
  });
  async function start(agent: Agent): Promise<string> {
    const res = await agent.get(`/sso/${conn.id}/start`);
    assert.equal(res.status, 302, res.raw.body);
    return idp.requestIdFrom(String(res.headers.location), spMetadata);
  }
  const post = (agent: Agent, samlResponse: string) =>
    agent.request('POST', `/sso/saml/${conn.id}/acs`, `SAMLResponse=${encodeURIComponent(samlResponse)}`, {
      'content-type': 'application/x-www-form-urlencoded',
    });
  async function refusedWith(res: Awaited<ReturnType<typeof post>>, code: string) {
    assert.equal(res.headers['x-sso-error'], code, res.raw.body);
    const events = await owner.get(
      `/api/v1/orgs/${orgId}/audit-events?target=${String(res.headers['x-sso-reference'])}`,
    );
    return events.body.data[0].metadata as { check: string; expected?: unknown; received?: unknown; detail?: string };
  }
  /** Signs the whole Response (enveloped, after its Issuer) with `key`, as Okta does when asked to sign both. */
  function signResponse(samlResponse: string, key: KeyPair): string {
    const sig = new SignedXml({
      privateKey: key.key,
      canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
      signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    });
    sig.addReference({
      xpath: "/*[local-name(.)='Response']",
      transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    });
    sig.computeSignature(decode(samlResponse), {
      location: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: 'after' },
    });
    return encode(sig.getSignedXml());
  }

  before(async () => {
    t = await createTestApp({ publicUrl: 'http://palisade.test' });
    ({ orgId, owner } = await t.seedOrg('Verify', 'owner@verify.example'));
    [idpKey, otherKey] = [makeKeyPair('verify-idp'), makeKeyPair('verify-other')];
    idp = new TestIdp(idpKey);
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Verify IdP',
      // Two certificates configured (a rollover): the one that verifies is the one reported.
      saml: { metadataXml: idpMetadata([otherKey.cert, idpKey.cert]) },
    });
    assert.equal(res.status, 201, res.raw.body);
    conn = res.body;
    spMetadata = (await t.anonymous().get(`/sso/saml/${conn.id}/metadata`)).raw.body;
    assert.ok(IDP_SSO_URL);
  });
  after(() => t.close());

  test('a signed assertion signs in; every value of a repeated attribute is kept; the verifying certificate is recorded', async () => {
    const agent = t.anonymous();
    const { samlResponse } = await idp.response(spMetadata, fields(await start(agent)), (xml) =>
      xml.replace(
        '</saml:AttributeStatement>',
        '<saml:Attribute Name="groups"><saml:AttributeValue>ops</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>',
      ),
    );
    const res = await post(agent, samlResponse);
    assert.equal(res.status, 303, res.raw.body);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'vera@verify.example');
    const view = (await owner.get(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}`)).body;
    const certs = view.saml.idpCertificates as { fingerprintSha256: string }[];
    assert.equal(certs.length, 2);
    const login = await t.db.database.db
      .selectFrom('sso_logins')
      .select(['signing_cert_sha256', 'attributes'])
      .where('connection_id', '=', conn.id)
      .executeTakeFirstOrThrow();
    assert.equal(login.signing_cert_sha256, certs[1]?.fingerprintSha256, 'the second configured certificate verified');
    const recorded = JSON.parse(login.attributes) as { raw: Record<string, unknown> };
    assert.deepEqual(recorded.raw.groups, ['staff', 'eng', 'ops']);
  });

  test('a Response signed as well as its assertion signs in when both verify', async () => {
    const agent = t.anonymous();
    const { samlResponse } = await idp.response(spMetadata, fields(await start(agent)));
    const res = await post(agent, signResponse(samlResponse, idpKey));
    assert.equal(res.status, 303, res.raw.body);
  });

  test('attack: a Response signature that no configured certificate verifies is refused, even with a valid assertion', async () => {
    const agent = t.anonymous();
    const { samlResponse } = await idp.response(spMetadata, fields(await start(agent)));
    const meta = await refusedWith(
      await post(agent, signResponse(samlResponse, makeKeyPair('attacker'))),
      'saml_bad_signature',
    );
    assert.ok(Array.isArray(meta.expected), 'names the configured certificates');
  });

  test('attack: another element carries the assertion ID under another attribute name', async () => {
    for (const attr of ['Id', 'id', 'ID']) {
      const agent = t.anonymous();
      const { samlResponse } = await idp.response(spMetadata, fields(await start(agent)), (xml) => {
        const id = /<saml:Assertion ID="([^"]+)"/.exec(xml)?.[1] ?? '';
        return xml.replace(
          '</samlp:Status>',
          `<samlp:StatusDetail><x:Decoy xmlns:x="urn:decoy" ${attr}="${id}"/></samlp:StatusDetail></samlp:Status>`,
        );
      });
      const meta = await refusedWith(await post(agent, samlResponse), 'saml_signature_wrapping');
      assert.match(String(meta.detail ?? meta.check), /more than one element/);
    }
  });

  test('attack: a second AudienceRestriction that does not name Palisade', async () => {
    const agent = t.anonymous();
    const { samlResponse } = await idp.response(spMetadata, fields(await start(agent)), (xml) =>
      xml.replace(
        '</saml:AudienceRestriction>',
        '</saml:AudienceRestriction><saml:AudienceRestriction><saml:Audience>urn:other-sp</saml:Audience></saml:AudienceRestriction>',
      ),
    );
    const meta = await refusedWith(await post(agent, samlResponse), 'saml_wrong_audience');
    assert.deepEqual(meta.received, [conn.saml.spEntityId, 'urn:other-sp']);
  });

  test('an AudienceRestriction naming Palisade among several audiences is accepted', async () => {
    const agent = t.anonymous();
    const { samlResponse } = await idp.response(spMetadata, fields(await start(agent)), (xml) =>
      xml.replace(
        '<saml:AudienceRestriction>',
        '<saml:AudienceRestriction><saml:Audience>urn:other-sp</saml:Audience>',
      ),
    );
    assert.equal((await post(agent, samlResponse)).status, 303);
  });

  test('attack: no AudienceRestriction at all', async () => {
    const agent = t.anonymous();
    const { samlResponse } = await idp.response(spMetadata, fields(await start(agent)), (xml) =>
      xml.replace(/<saml:AudienceRestriction>.*?<\/saml:AudienceRestriction>/, ''),
    );
    const meta = await refusedWith(await post(agent, samlResponse), 'saml_wrong_audience');
    assert.deepEqual(meta.received, []);
  });

  test('attack: a confirmation not valid before a time in the future', async () => {
    const agent = t.anonymous();
    const future = new Date(Date.now() + 60 * 60_000).toISOString();
    const { samlResponse } = await idp.response(spMetadata, fields(await start(agent)), (xml) =>
      xml.replace('<saml:SubjectConfirmationData ', `<saml:SubjectConfirmationData NotBefore="${future}" `),
    );
    await refusedWith(await post(agent, samlResponse), 'saml_not_yet_valid');
  });
});
