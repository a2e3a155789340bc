import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { IDP_SSO_URL, TestIdp, idpMetadata, makeKeyPair } from './saml-peer.js';

/**
 * IdP consoles ask for the service provider's values (ACS URL, entity id) before they show their
 * own metadata. A SAML connection can therefore start as a draft: it has its SP values and metadata
 * at once, signs nobody in, and becomes a working connection when the IdP's metadata is added.
 * Real samlify IdP for the sign-in.
 */
describe('SAML draft connections: the values to paste into the IdP come first', () => {
  let t: TestApp;
  let acme: { orgId: string; owner: Agent };
  before(async () => {
    t = await createTestApp({ publicUrl: 'http://palisade.test' });
    acme = await t.seedOrg('Acme', 'owner@acme.test');
  });
  after(() => t.close());

  test('a draft has its ACS URL, entity id and SP metadata; it signs nobody in and cannot be enforced', async () => {
    const draft = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Okta (draft)',
      preset: 'okta',
    });
    assert.equal(draft.status, 201, draft.raw.body);
    assert.equal(draft.body.status, 'draft');
    assert.equal(draft.body.saml.acsUrl, `http://palisade.test/sso/saml/${draft.body.id}/acs`);
    assert.equal(draft.body.saml.spEntityId, `http://palisade.test/sso/saml/${draft.body.id}`);
    const md = await t.anonymous().get(`/sso/saml/${draft.body.id}/metadata`);
    assert.equal(md.status, 200);
    assert.match(md.raw.body, /AssertionConsumerService[^>]+Location="http:\/\/palisade\.test\/sso\/saml\/[^"]+\/acs"/);
    const start = await t.anonymous().get(`/sso/${draft.body.id}/start`);
    assert.notEqual(start.status, 302, 'no redirect to an IdP that is not configured');
    assert.match(start.raw.body, /not set up yet/);
    const enforce = await acme.owner.request('PUT', `/api/v1/orgs/${acme.orgId}/sso/enforcement`, {
      connectionId: draft.body.id,
    });
    assert.equal(enforce.status, 409);
    assert.match(enforce.body.error.message, /draft without IdP metadata/);
    const early = await acme.owner.patch(`/api/v1/orgs/${acme.orgId}/sso/connections/${draft.body.id}`, {
      status: 'active',
    });
    assert.equal(early.status, 400);
    assert.equal(early.body.error.code, 'saml_config_required');
  });

  test('adding the IdP metadata turns the draft into a working connection', async () => {
    const draft = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Acme IdP',
    });
    const key = makeKeyPair('draft-idp');
    const idp = new TestIdp(key);
    const done = await acme.owner.patch(`/api/v1/orgs/${acme.orgId}/sso/connections/${draft.body.id}`, {
      saml: { metadataXml: idpMetadata([key.cert]) },
    });
    assert.equal(done.status, 200, done.raw.body);
    assert.equal(done.body.status, 'active');
    const spMetadata = (await t.anonymous().get(`/sso/saml/${draft.body.id}/metadata`)).raw.body;
    const agent = t.anonymous();
    const start = await agent.get(`/sso/${draft.body.id}/start`);
    assert.equal(start.status, 302);
    assert.ok(String(start.headers.location).startsWith(IDP_SSO_URL));
    const requestId = await idp.requestIdFrom(String(start.headers.location), spMetadata);
    const { samlResponse } = await idp.response(spMetadata, {
      nameId: 'owner@acme.test',
      attributes: { email: ['owner@acme.test'] },
      inResponseTo: requestId,
      destination: done.body.saml.acsUrl,
      recipient: done.body.saml.acsUrl,
      audience: done.body.saml.spEntityId,
      issueInstant: t.clock.now(),
    });
    const acs = await agent.request(
      'POST',
      `/sso/saml/${draft.body.id}/acs`,
      `SAMLResponse=${encodeURIComponent(samlResponse)}`,
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    assert.equal(acs.status, 303, acs.raw.body);
  });
});
