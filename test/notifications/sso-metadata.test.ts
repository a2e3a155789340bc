import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { notificationPass } from '../../src/notifications/jobs.js';
import { refreshAllMetadata } from '../../src/sso/metadata-refresh.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type WitnessServer, startWitness } from '../helpers/outbound.js';
import { idpMetadata, makeKeyPair } from '../sso/saml-peer.js';

const DAY = 86_400_000;

/** The SAML metadata refresh job against a real HTTP server that starts failing, then works again (with unchanged metadata, which writes no audit event). */
describe('IdP metadata refresh failing', () => {
  let t: TestApp;
  let org: { orgId: string; owner: Agent };
  let idp: WitnessServer;
  let failing = false;
  const metadataXml = idpMetadata([makeKeyPair('idp-notify').cert]);

  before(async () => {
    idp = await startWitness('127.0.0.1');
    idp.handle = (_req, res) =>
      failing
        ? void res.writeHead(503, { 'content-type': 'text/plain', connection: 'close' }).end('maintenance')
        : void res
            .writeHead(200, { 'content-type': 'application/samlmetadata+xml', connection: 'close' })
            .end(metadataXml);
    t = await createTestApp();
    org = await t.seedOrg('Meta Co', 'owner@meta.test');
    org.owner.bearer = (await org.owner.post('/api/v1/me/tokens', { name: 'meta script' })).body.token;
    const c = await org.owner.post(`/api/v1/orgs/${org.orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Okta by URL',
      saml: { metadataUrl: `${idp.url}/metadata` },
    });
    assert.equal(c.status, 201, c.raw.body);
    await notificationPass(t.system);
  });
  after(async () => {
    await t.close();
    await idp.close();
  });

  test('the first failure is announced with the error, reminded daily, and resolved once when the URL works again', async () => {
    const of = async () =>
      await t.db.database.db
        .selectFrom('notifications')
        .select(['phase', 'title', 'fix'])
        .where('org_id', '=', org.orgId)
        .where('type', '=', 'sso.metadata_refresh_failing')
        .orderBy('id')
        .execute();
    failing = true;
    assert.equal((await refreshAllMetadata(t.system)).failed, 1);
    await notificationPass(t.system);
    for (let i = 0; i < 3; i++) {
      t.clock.advance(6 * 3_600_000);
      await refreshAllMetadata(t.system);
      await notificationPass(t.system);
    }
    let got = await of();
    assert.deepEqual(
      got.map((n) => n.phase),
      ['alert'],
      'failing again is the same problem',
    );
    assert.equal(got[0]!.title, 'Identity provider metadata for Okta by URL cannot be refreshed');
    assert.match(got[0]!.fix, /503/);
    t.clock.advance(6 * 3_600_000);
    await notificationPass(t.system);
    failing = false;
    t.clock.advance(3_600_000);
    await refreshAllMetadata(t.system);
    await notificationPass(t.system);
    await notificationPass(t.system);
    t.clock.advance(2 * DAY);
    await notificationPass(t.system);
    got = await of();
    assert.deepEqual(
      got.map((n) => n.phase),
      ['alert', 'reminder', 'resolved'],
    );
    assert.equal(got[2]!.title, 'Identity provider metadata for Okta by URL refreshes again');
  });
});
