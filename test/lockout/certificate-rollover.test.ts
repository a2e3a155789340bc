import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { samlMetadataRefreshJob } from '../../src/sso/jobs.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { type KeyPair, TestIdp, decode, encode, idpMetadata, makeKeyPair } from '../sso/saml-peer.js';
import { PUBLIC, type Person, SamlOrg, emails } from './saml-org.js';

const fingerprint = (k: KeyPair) => new X509Certificate(k.cert).fingerprint256;

/**
 * Issue 24, case 2: an IdP certificate rollover through the metadata URL. The IdP's metadata starts
 * publishing only its next certificate while it still signs with the current one: the refresh job
 * holds the current certificate beside the new one (instead of locking everyone out), says so in the
 * audit log, and lets go of it at the first sign-in signed with the new key. A signature that does
 * not verify names the certificate that signed it and whether Palisade has it.
 */
describe('lockout guard: IdP certificate rollover by metadata refresh', () => {
  let t: TestApp;
  let org: SamlOrg;
  let server: Server;
  let served = '';
  let oldKey: KeyPair;
  let newKey: KeyPair;
  const job = samlMetadataRefreshJob();
  const people: Person[] = ['alice', 'bob', 'carol', 'dan', 'erin'].map((n, i) => ({
    email: `${n}@acme.example`,
    groups: [i < 2 ? 'acme-admins' : 'acme-staff'],
  }));
  const owner: Person = { email: 'owner@acme.example', groups: ['acme-admins'] };
  const view = async () => (await org.owner.get(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}`)).body;

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    [oldKey, newKey] = [makeKeyPair('idp-2025'), makeKeyPair('idp-2026')];
    served = idpMetadata([oldKey.cert]);
    server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(served),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`;
    org = await SamlOrg.create(t, 'Acme', 'owner@acme.example', {
      metadataUrl: url,
      key: oldKey,
      mapping: {
        requiredPrefix: 'acme-',
        defaultRole: null,
        rules: [
          { group: 'acme-admins', role: 'admin' },
          { group: 'acme-staff', role: 'member' },
        ],
      },
    });
    for (const p of people) await org.signedIn(p);
    await org.enforce(owner);
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await t.close();
  });

  test('metadata that drops the certificate the IdP signs with is held back: the old certificate stays beside the new one, and the hold is audited with who it protects', async () => {
    served = idpMetadata([newKey.cert]);
    assert.deepEqual(await job.run(t.system), { checked: 1, changed: 0, failed: 0, held: 1 });
    const v = await view();
    assert.deepEqual(
      v.saml.idpCertificates.map((c: { fingerprintSha256: string }) => c.fingerprintSha256).sort(),
      [fingerprint(newKey), fingerprint(oldKey)].sort(),
    );
    assert.deepEqual(
      v.saml.idpHeldCertificates.map((c: { fingerprintSha256: string }) => c.fingerprintSha256),
      [fingerprint(oldKey)],
    );
    const [held] = await org.events('sso.certificate_held');
    assert.equal(held.outcome, 'denied');
    assert.deepEqual(held.metadata.held, [fingerprint(oldKey)]);
    assert.deepEqual(held.metadata.certificatesAdded, [fingerprint(newKey)]);
    assert.deepEqual(
      emails(held.metadata.people),
      emails(people),
      'everyone who signed in with the old key, and would have been locked out',
    );
    assert.match(held.metadata.reason, /until a sign-in signed with a new one succeeds/);
    // The IdP still signs with its current key: everyone still gets in.
    await org.signedIn(people[0]!);
    assert.deepEqual(
      await job.run(t.system),
      { checked: 1, changed: 0, failed: 0 },
      'the hold is in place: nothing more to do',
    );
    assert.equal((await org.events('sso.certificate_held')).length, 1, 'held once, not on every refresh');
  });

  test('the first sign-in signed with the new key releases the old certificate; from then on the old key is refused, with its fingerprint in the diagnosis', async () => {
    await org.signedIn(people[1]!, { key: newKey });
    const v = await view();
    assert.deepEqual(
      v.saml.idpCertificates.map((c: { fingerprintSha256: string }) => c.fingerprintSha256),
      [fingerprint(newKey)],
    );
    assert.deepEqual(v.saml.idpHeldCertificates, []);
    const [released] = await org.events('sso.certificate_released');
    assert.deepEqual(
      [released.metadata.released, released.metadata.signedWith],
      [[fingerprint(oldKey)], fingerprint(newKey)],
    );
    const diagnosis = await org.refused(people[2]!, 'saml_bad_signature', { key: oldKey });
    assert.deepEqual(diagnosis.received, { signingCertificateSha256: fingerprint(oldKey), matchesConfigured: false });
    assert.deepEqual(diagnosis.expected, [fingerprint(newKey)]);
    assert.match(diagnosis.detail, /was signed with certificate .* which is not one of the connection's certificate/);
    for (const p of people) await org.signedIn(p, { key: newKey });
    assert.deepEqual(await job.run(t.system), { checked: 1, changed: 0, failed: 0 });
  });

  test('a response altered after signing names a configured certificate: the diagnosis says the content changed', async () => {
    const idp = new TestIdp(newKey);
    const browser = t.anonymous();
    const start = await browser.get(`/sso/${org.conn.id}/start`);
    const requestId = await idp.requestIdFrom(String(start.headers.location), org.spMetadata);
    const { samlResponse } = await idp.response(org.spMetadata, {
      nameId: 'carol@acme.example',
      attributes: { email: ['carol@acme.example'], groups: ['acme-staff'] },
      destination: org.conn.saml.acsUrl,
      recipient: org.conn.saml.acsUrl,
      audience: org.conn.saml.spEntityId,
      inResponseTo: requestId,
    });
    const forged = encode(
      decode(samlResponse).replace(
        '<saml:AttributeValue>acme-staff</saml:AttributeValue>',
        '<saml:AttributeValue>acme-admins</saml:AttributeValue>',
      ),
    );
    const res = await browser.request(
      'POST',
      `/sso/saml/${org.conn.id}/acs`,
      `SAMLResponse=${encodeURIComponent(forged)}`,
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    assert.equal(res.headers['x-sso-error'], 'saml_bad_signature');
    const events = await org.owner.get(
      `/api/v1/orgs/${org.orgId}/audit-events?target=${String(res.headers['x-sso-reference'])}`,
    );
    assert.deepEqual(events.body.data[0].metadata.received, {
      signingCertificateSha256: fingerprint(newKey),
      matchesConfigured: true,
    });
    assert.match(events.body.data[0].metadata.detail, /signed content was changed after signing/);
    assert.equal(await org.roleOf('carol@acme.example'), 'member');
  });

  test('new metadata that would still lock people out with the old certificate kept (another IdP entity) is not applied at all', async () => {
    const before = await view();
    served = idpMetadata([makeKeyPair('another-idp').cert]).replace(
      'entityID="urn:test:idp"',
      'entityID="urn:other:idp"',
    );
    assert.deepEqual(await job.run(t.system), { checked: 1, changed: 0, failed: 0, held: 1 });
    const after = await view();
    assert.deepEqual(after.saml.idpCertificates, before.saml.idpCertificates);
    assert.equal(after.saml.idpEntityId, 'urn:test:idp');
    assert.match(
      after.saml.idpMetadataError,
      /^Held back: applying the identity provider's new metadata would lock 5 people out \(alice@acme\.example/,
    );
    const denied = (await org.events('sso.metadata_refreshed')).filter((e) => e.outcome === 'denied');
    assert.equal(denied.length, 1);
    assert.equal(denied[0].metadata.reason, 'would_lock_out');
    assert.equal(denied[0].metadata.entityIdChanged, true);
    await org.signedIn(people[0]!, { key: newKey });
    served = idpMetadata([newKey.cert]);
    assert.deepEqual(await job.run(t.system), { checked: 1, changed: 0, failed: 0 });
    assert.equal((await view()).saml.idpMetadataError, null);
  });

  test('an admin replacing the certificate by hand goes through the same guard: refused with the list, applied when acknowledged', async () => {
    const other = makeKeyPair('idp-2027');
    const res = await org.owner.patch(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}`, {
      saml: { certificates: [other.cert] },
    });
    assert.equal(res.status, 409, res.raw.body);
    assert.equal(res.body.error.code, 'sso_change_would_lock_out');
    assert.equal(res.body.error.details.change, 'sso_certificates');
    assert.deepEqual(emails(res.body.error.details.warnings), [...emails(people)].sort());
    assert.match(
      res.body.error.details.warnings[0].explanation,
      new RegExp(`signed with certificate ${fingerprint(newKey)}, which "Acme IdP" would no longer trust`),
    );
    assert.equal((await view()).saml.idpCertificates.length, 1);
    const both = await org.owner.patch(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}`, {
      saml: { certificates: [newKey.cert, other.cert] },
    });
    assert.equal(both.status, 200, 'adding the next certificate beside the current one takes nothing away');
    const forced = await org.owner.patch(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}`, {
      saml: { certificates: [other.cert] },
      acknowledgeWarnings: true,
    });
    assert.equal(forced.status, 200, forced.raw.body);
    await org.refused(people[0]!, 'saml_bad_signature', { key: newKey });
    await org.signedIn(people[0]!, { key: other });
  });
});
