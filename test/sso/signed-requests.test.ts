import assert from 'node:assert/strict';
import { X509Certificate, verify } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { samlMetadataRefreshJob } from '../../src/sso/jobs.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { IDP_SSO_URL, type KeyPair, TestIdp, idpMetadata, makeKeyPair, redirectSignedOctets } from './saml-peer.js';

const PUBLIC = 'http://palisade.test';
const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

interface Conn {
  id: string;
  signAuthnRequests: boolean;
  saml: { acsUrl: string; spEntityId: string; spCertificate: string; idpWantsAuthnRequestsSigned: boolean | null };
}

/** What the SP metadata says about request signing: the attribute, and the certificates offered for signing. */
function spSigning(xml: string): { authnRequestsSigned: string | null; signingCerts: string[] } {
  const doc = new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
  const sp = doc.getElementsByTagNameNS(MD_NS, 'SPSSODescriptor')[0]!;
  const signingCerts = Array.from(sp.getElementsByTagNameNS(MD_NS, 'KeyDescriptor'))
    .filter((k) => k.getAttribute('use') === 'signing')
    .flatMap((k) =>
      Array.from(k.getElementsByTagNameNS(DS_NS, 'X509Certificate')).map((c) =>
        (c.textContent ?? '').replace(/\s+/g, ''),
      ),
    );
  return { authnRequestsSigned: sp.getAttribute('AuthnRequestsSigned'), signingCerts };
}

const pemBody = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

/**
 * Signed AuthnRequests (HTTP-Redirect binding, RSA-SHA256) against samlify acting as an IdP that
 * requires them: samlify verifies the signature over the raw query octets with the signing
 * certificate from Palisade's SP metadata, and refuses unsigned, altered or foreign-signed requests.
 */
describe('signed SAML AuthnRequests with a samlify IdP that requires them', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let idpKey: KeyPair;
  let strictIdp: TestIdp;
  let signing: Conn;
  let plain: Conn;

  const spMetadataOf = async (id: string) => {
    const res = await t.anonymous().get(`/sso/saml/${id}/metadata`);
    assert.equal(res.status, 200);
    return res.raw.body;
  };
  const startUrl = async (agent: Agent, id: string) => {
    const res = await agent.get(`/sso/${id}/start`);
    assert.equal(res.status, 302, res.raw.body);
    const location = String(res.headers.location);
    assert.ok(location.startsWith(`${IDP_SSO_URL}?SAMLRequest=`), location);
    return location;
  };
  const lastEvent = async (action: string) =>
    (await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=${action}`)).body.data[0];

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    ({ orgId, owner } = await t.seedOrg('Signing Co', 'owner@signing.example'));
    idpKey = makeKeyPair('strict-idp');
    strictIdp = new TestIdp(idpKey, false, true);
  });
  after(() => t.close());

  test('IdP metadata with WantAuthnRequestsSigned="true": the connection signs by default, and its SP metadata says so', async () => {
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Strict IdP',
      saml: { metadataXml: idpMetadata([idpKey.cert], { wantAuthnRequestsSigned: true }) },
    });
    assert.equal(res.status, 201, res.raw.body);
    signing = res.body;
    assert.equal(signing.signAuthnRequests, true);
    assert.equal(signing.saml.idpWantsAuthnRequestsSigned, true);
    const md = spSigning(await spMetadataOf(signing.id));
    assert.equal(md.authnRequestsSigned, 'true');
    assert.deepEqual(
      md.signingCerts,
      [pemBody(signing.saml.spCertificate)],
      "the signing certificate published is the connection's own SP certificate",
    );
    const created = await lastEvent('sso.connection_created');
    assert.equal(created.metadata.signAuthnRequests, true);
    assert.equal(created.metadata.idpWantsAuthnRequestsSigned, true);
  });

  test('a signed AuthnRequest is accepted by the strict IdP, and the sign-in completes', async () => {
    const agent = t.anonymous();
    const location = await startUrl(agent, signing.id);
    const url = new URL(location);
    assert.equal(url.searchParams.get('SigAlg'), RSA_SHA256);
    assert.ok(url.searchParams.get('Signature'), 'the redirect carries a Signature');
    // The redirect binding signs the query, not the XML: the request itself carries no enveloped signature.
    const requestXml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    assert.ok(!requestXml.includes('Signature'), requestXml);
    // An independent check besides samlify's: node:crypto over the raw query octets with the certificate from the SP metadata.
    const cert = new X509Certificate(Buffer.from(spSigning(await spMetadataOf(signing.id)).signingCerts[0]!, 'base64'));
    assert.equal(
      verify(
        'sha256',
        Buffer.from(redirectSignedOctets(location)),
        cert.publicKey,
        Buffer.from(url.searchParams.get('Signature')!, 'base64'),
      ),
      true,
    );

    const spMetadata = await spMetadataOf(signing.id);
    const requestId = await strictIdp.requestIdFrom(location, spMetadata);
    assert.match(requestId, /^_/);
    const { samlResponse } = await strictIdp.response(spMetadata, {
      nameId: 'signer@signing.example',
      attributes: { email: ['signer@signing.example'] },
      inResponseTo: requestId,
      destination: signing.saml.acsUrl,
      recipient: signing.saml.acsUrl,
      audience: signing.saml.spEntityId,
    });
    const res = await agent.request(
      'POST',
      `/sso/saml/${signing.id}/acs`,
      `SAMLResponse=${encodeURIComponent(samlResponse)}`,
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    assert.equal(res.status, 303, res.raw.body);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'signer@signing.example');
  });

  test('attack: an altered request (another ACS URL) keeps its signature but the IdP refuses it', async () => {
    const location = await startUrl(t.anonymous(), signing.id);
    const url = new URL(location);
    const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    const evil = xml.replace(signing.saml.acsUrl, 'https://attacker.example/acs');
    assert.notEqual(evil, xml);
    url.searchParams.set('SAMLRequest', deflateRawSync(Buffer.from(evil, 'utf8')).toString('base64'));
    await assert.rejects(
      strictIdp.requestIdFrom(url.toString(), await spMetadataOf(signing.id)),
      /ERR_FAILED_MESSAGE_SIGNATURE_VERIFICATION/,
    );
  });

  test("attack: a request signed with another connection's key does not verify as this connection's", async () => {
    const other = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Other strict',
      saml: { metadataXml: idpMetadata([idpKey.cert], { wantAuthnRequestsSigned: true }) },
    });
    assert.equal(other.status, 201, other.raw.body);
    const foreignSigned = await startUrl(t.anonymous(), other.body.id);
    // Genuine for its own connection…
    assert.ok(await strictIdp.requestIdFrom(foreignSigned, await spMetadataOf(other.body.id)));
    // …refused when checked against this connection's SP certificate.
    await assert.rejects(
      strictIdp.requestIdFrom(foreignSigned, await spMetadataOf(signing.id)),
      /ERR_FAILED_MESSAGE_SIGNATURE_VERIFICATION/,
    );
    assert.equal((await owner.delete(`/api/v1/orgs/${orgId}/sso/connections/${other.body.id}`)).status, 204);
  });

  test('signing cannot be turned off while the IdP metadata requires it, nor refused at creation', async () => {
    const off = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${signing.id}`, { signAuthnRequests: false });
    assert.equal(off.status, 400);
    assert.equal(off.body.error.code, 'idp_requires_signed_authn_requests');
    assert.match(off.body.error.message, /WantAuthnRequestsSigned/);
    assert.equal(
      (await owner.get(`/api/v1/orgs/${orgId}/sso/connections/${signing.id}`)).body.signAuthnRequests,
      true,
      'unchanged',
    );
    const create = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'x',
      signAuthnRequests: false,
      saml: { metadataXml: idpMetadata([idpKey.cert], { wantAuthnRequestsSigned: true }) },
    });
    assert.equal(create.status, 400);
    assert.equal(create.body.error.code, 'idp_requires_signed_authn_requests');
  });

  test('without WantAuthnRequestsSigned: unsigned by default, and a strict IdP refuses the unsigned request', async () => {
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Lenient IdP',
      saml: { metadataXml: idpMetadata([idpKey.cert]) },
    });
    assert.equal(res.status, 201, res.raw.body);
    plain = res.body;
    assert.equal(plain.signAuthnRequests, false);
    assert.equal(plain.saml.idpWantsAuthnRequestsSigned, false);
    const spMetadata = await spMetadataOf(plain.id);
    assert.deepEqual(spSigning(spMetadata), { authnRequestsSigned: 'false', signingCerts: [] });
    const location = await startUrl(t.anonymous(), plain.id);
    assert.equal(new URL(location).searchParams.get('Signature'), null);
    await assert.rejects(strictIdp.requestIdFrom(location, spMetadata), /ERR_MISSING_SIG_ALG/);
    // A lenient IdP (the default samlify setting) still takes it.
    assert.ok(await new TestIdp(idpKey).requestIdFrom(location, spMetadata));
  });

  test('an admin turns signing on and off: validated, audited, reflected in the SP metadata and the requests', async () => {
    const on = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${plain.id}`, { signAuthnRequests: true });
    assert.equal(on.status, 200, on.raw.body);
    assert.equal(on.body.signAuthnRequests, true);
    const updated = await lastEvent('sso.connection_updated');
    assert.deepEqual(updated.metadata.fields, ['saml_sign_authn_requests']);
    assert.equal(updated.metadata.signAuthnRequests, true);
    assert.equal(updated.targets.find((x: { type: string }) => x.type === 'sso_connection').id, plain.id);
    const spMetadata = await spMetadataOf(plain.id);
    assert.equal(spSigning(spMetadata).authnRequestsSigned, 'true');
    assert.ok(
      await strictIdp.requestIdFrom(await startUrl(t.anonymous(), plain.id), spMetadata),
      'the strict IdP now accepts it',
    );

    const off = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${plain.id}`, { signAuthnRequests: false });
    assert.equal(off.status, 200, off.raw.body);
    assert.equal((await lastEvent('sso.connection_updated')).metadata.signAuthnRequests, false);
    assert.equal(spSigning(await spMetadataOf(plain.id)).authnRequestsSigned, 'false');
    await assert.rejects(
      strictIdp.requestIdFrom(await startUrl(t.anonymous(), plain.id), spMetadata),
      /ERR_MISSING_SIG_ALG/,
    );

    const member = (await t.addMember(owner, orgId, 'member@signing.example', 'member')).agent;
    assert.equal(
      (await member.patch(`/api/v1/orgs/${orgId}/sso/connections/${plain.id}`, { signAuthnRequests: true })).status,
      403,
    );
    const wrongType = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${plain.id}`, {
      signAuthnRequests: 'yes',
    });
    assert.equal(wrongType.status, 400);
  });

  test('OIDC connections refuse the setting', async () => {
    const create = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'OIDC',
      signAuthnRequests: true,
      oidc: { issuer: 'http://127.0.0.1:9', clientId: 'c', clientSecret: 's' },
    });
    assert.equal(create.status, 400);
    assert.equal(create.body.error.code, 'sign_authn_requests_not_supported');
    const ok = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'OIDC',
      oidc: { issuer: 'http://127.0.0.1:9', clientId: 'c', clientSecret: 's' },
    });
    assert.equal(ok.status, 201, ok.raw.body);
    assert.equal(ok.body.signAuthnRequests, false);
    const patch = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${ok.body.id}`, { signAuthnRequests: true });
    assert.equal(patch.status, 400);
    assert.equal(patch.body.error.code, 'sign_authn_requests_not_supported');
  });

  test('metadata refresh: an IdP that starts requiring signed requests turns signing on, audited', async () => {
    let served = idpMetadata([idpKey.cert]);
    const server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(served),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`;
    try {
      const created = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
        protocol: 'saml',
        name: 'Refreshing',
        saml: { metadataUrl: url },
      });
      assert.equal(created.status, 201, created.raw.body);
      assert.equal(created.body.signAuthnRequests, false);
      const job = samlMetadataRefreshJob();
      const quiet = await job.run(t.system);
      assert.equal((quiet as { changed: number }).changed, 0);
      served = idpMetadata([idpKey.cert], { wantAuthnRequestsSigned: true });
      const changed = await job.run(t.system);
      assert.equal((changed as { changed: number }).changed, 1);
      const after = (await owner.get(`/api/v1/orgs/${orgId}/sso/connections/${created.body.id}`)).body;
      assert.equal(after.signAuthnRequests, true);
      assert.equal(after.saml.idpWantsAuthnRequestsSigned, true);
      const ev = await lastEvent('sso.metadata_refreshed');
      assert.equal(ev.metadata.signAuthnRequests, true);
      assert.match(ev.metadata.reason, /WantAuthnRequestsSigned/);
      const spMetadata = await spMetadataOf(created.body.id);
      assert.ok(await strictIdp.requestIdFrom(await startUrl(t.anonymous(), created.body.id), spMetadata));
      assert.equal(((await job.run(t.system)) as { changed: number }).changed, 0, 'idempotent');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
