import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { notificationJobs } from '../../src/notifications/jobs.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const DAY = 86_400_000;

async function certificateExpiringAt(notAfter: Date): Promise<string> {
  const alg = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 2048,
  };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=idp.expiring.test',
    notBefore: new Date(notAfter.getTime() - 365 * DAY),
    notAfter,
    signingAlgorithm: alg,
    keys,
  });
  return cert.toString('pem');
}

/** A SAML IdP certificate that expires in 40 days: the hourly scan job, driven by a ManualClock, warns at 30, 7 and 1 days, once each. */
describe('SAML certificate expiry warnings', () => {
  let t: TestApp;
  let org: { orgId: string; owner: Agent };
  let connectionId = '';
  let notAfter: Date;

  before(async () => {
    t = await createTestApp();
    org = await t.seedOrg('Cert Co', 'owner@cert.test');
    org.owner.bearer = (await org.owner.post('/api/v1/me/tokens', { name: 'cert script' })).body.token;
    notAfter = new Date(t.clock.now().getTime() + 40 * DAY);
    const res = await org.owner.post(`/api/v1/orgs/${org.orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Expiring IdP',
      saml: {
        entityId: 'urn:test:expiring',
        ssoUrl: 'https://idp.expiring.test/sso',
        certificates: [await certificateExpiringAt(notAfter)],
      },
    });
    assert.equal(res.status, 201, res.raw.body);
    connectionId = res.body.id;
  });
  after(() => t.close());

  test('the 30-, 7- and 1-day warnings arrive once each, on the right days, with the facts and the fix', async () => {
    const sched = createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config }, notificationJobs());
    const days: string[] = [];
    for (let day = 1; day <= 45; day++) {
      // Every hour of the day, as the job runs: a warning must still come once.
      for (let h = 0; h < 24; h += 6) {
        t.clock.advance(6 * 3_600_000);
        for (const r of await sched.tick()) assert.notEqual(r.status, 'failed', r.error);
      }
      const rows = await t.db.database.db
        .selectFrom('notifications')
        .select(['type', 'facts', 'created_at'])
        .where('org_id', '=', org.orgId)
        .where('type', '=', 'sso.certificate_expiring')
        .orderBy('id')
        .execute();
      if (rows.length > days.length)
        for (const r of rows.slice(days.length)) days.push(`day ${day}: ${JSON.parse(r.facts).threshold}`);
    }
    // 40 days left at day 0: 30 left during day 10, 7 during day 33, 1 during day 39.
    assert.deepEqual(days, ['day 10: 30', 'day 33: 7', 'day 39: 1']);
    const list = await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications?type=sso.certificate_expiring`);
    const last = list.body.data[0];
    assert.equal(
      last.title,
      `SAML certificate of Expiring IdP expires in 1 day (${notAfter.toISOString().replace(/\.\d{3}Z$/, '.000Z')})`,
    );
    assert.equal(last.severity, 'critical');
    assert.equal(last.facts.connectionId, connectionId);
    assert.equal(last.facts.certificate, 'idp_signing');
    assert.match(last.facts.subject, /CN=idp\.expiring\.test/);
    assert.match(last.fix, /^Ask the identity provider's administrator to publish the next certificate now\./);
    assert.equal(list.body.data[1].severity, 'warning');
    // Delivered to the default channel: the primary owner by email.
    assert.deepEqual(
      last.deliveries.map((d: { channelKind: string; recipients: string[]; status: string }) => [
        d.channelKind,
        d.recipients,
        d.status,
      ]),
      [['email', ['owner@cert.test'], 'sent']],
    );
  });
});
