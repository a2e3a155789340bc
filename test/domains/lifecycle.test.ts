import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RECHECK_JOB } from '../../src/domains/recheck-job.js';
import { allJobs, createScheduler } from '../../src/scheduled-jobs.js';
import type { Scheduler } from '../../src/jobs/scheduler.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { Dnsmasq, silentResolver } from './dns-peers.js';

const DAY = 24 * 3600 * 1000;

/** verified → failing → (recovered | expired), driven by the scheduled job and a ManualClock, against a real dnsmasq. */
describe('staying verified: the re-check job and the grace period', () => {
  let t: TestApp;
  let a: { orgId: string; owner: Agent };
  let sched: Scheduler;
  const dns = new Dnsmasq();
  let domainId = '';
  let token = '';
  let pendingId = '';
  const RECORD = '_palisade-challenge.lifecycle.test';
  const publish = () => dns.serve([`txt-record=${RECORD},"${token}"`]);
  const breakRecord = () => dns.serve([`txt-record=${RECORD},"${token.slice(0, -4)}"`]);
  const day = async () => {
    t.clock.advance(DAY);
    const results = await sched.tick();
    const r = results.find((x) => x.name === RECHECK_JOB);
    assert.equal(r?.ran, true, 'the job is due once a day');
    assert.equal(r?.status, 'succeeded', r?.error);
    return r?.summary as Record<string, number>;
  };
  const state = async () => {
    const r = await a.owner.get(`/api/v1/orgs/${a.orgId}/domains/${domainId}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const discover = async () => (await t.anonymous().get('/api/v1/login/discover?email=someone@lifecycle.test')).body;
  const events = async (action: string) =>
    (await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=${action}`)).body.data;
  const notifications = async () =>
    (await a.owner.get(`/api/v1/orgs/${a.orgId}/domain-notifications`)).body.data as {
      event: string;
      payload: Record<string, any>;
    }[];

  before(async () => {
    t = await createTestApp();
    a = await t.seedOrg('Lifecycle Co', 'owner@lifecycle.test');
    // Weeks of clock time pass: the owner uses a non-expiring API token rather than a 12-hour session.
    a.owner.bearer = (await a.owner.post('/api/v1/me/tokens', { name: 'lifecycle script' })).body.token;
    const res = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: 'lifecycle.test' });
    domainId = res.body.id;
    token = res.body.instructions.value;
    pendingId = (await a.owner.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: 'never.test' })).body.id;
    await publish();
    t.config.dnsServers = [dns.server];
    sched = createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config });
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test('the job is registered with the configured interval (default daily)', () => {
    const job = allJobs(t.config).find((j) => j.name === RECHECK_JOB);
    assert.equal(job?.intervalMs, DAY);
    assert.equal(
      allJobs({ ...t.config, domainRecheckHours: 6 }).find((j) => j.name === RECHECK_JOB)?.intervalMs,
      6 * 3600 * 1000,
    );
  });

  test('a verified domain with its record in place stays verified; pending domains are left alone', async () => {
    assert.equal((await a.owner.post(`/api/v1/orgs/${a.orgId}/domains/${domainId}/verify`)).body.verified, true);
    const verifiedAt = (await state()).verifiedAt;
    const summary = await day();
    assert.deepEqual({ checked: summary.checked, unchanged: summary.unchanged }, { checked: 1, unchanged: 1 });
    const s = await state();
    assert.equal(s.status, 'verified');
    assert.equal(s.verifiedAt, verifiedAt);
    assert.equal(s.lastGoodCheckAt, t.clock.now().toISOString());
    assert.equal((await a.owner.get(`/api/v1/orgs/${a.orgId}/domains/${pendingId}`)).body.lastCheckedAt, null);
    assert.equal((await sched.tick()).find((x) => x.name === RECHECK_JOB)?.ran, false, 'not again within the interval');
  });

  test('a broken record starts the grace period: state failing, last good check, first failing check, diagnosis', async () => {
    const lastGood = (await state()).lastGoodCheckAt;
    await breakRecord();
    const summary = await day();
    assert.equal(summary.failing, 1);
    const s = await state();
    const now = t.clock.now();
    assert.equal(s.status, 'failing');
    assert.equal(s.capturesLogins, true);
    assert.equal(s.lastGoodCheckAt, lastGood);
    assert.equal(s.failingSince, now.toISOString());
    assert.equal(s.graceUntil, new Date(now.getTime() + 14 * DAY).toISOString());
    assert.equal(s.lastDiagnosis.code, 'value_mismatch');
    assert.ok(s.lastDiagnosis.message.includes(RECORD) && s.lastDiagnosis.message.includes(token));
    // While failing, people at the domain are still routed to the organization.
    assert.equal((await discover()).organization?.id, a.orgId);
    const [ev] = await events('domain.failing');
    assert.equal(ev.metadata.diagnosisCode, 'value_mismatch');
    assert.equal(ev.metadata.lastGoodCheckAt, lastGood);
    assert.equal(ev.actor.type, 'system');
    const n = await notifications();
    assert.deepEqual(
      n.map((x) => x.event),
      ['domain.verified', 'domain.failing'],
    );
    assert.equal(n[1]!.payload.type, 'domain.failing');
    assert.equal(n[1]!.payload.domain.graceUntil, s.graceUntil);
    assert.equal(n[1]!.payload.diagnosis.code, 'value_mismatch');
  });

  test('a second failing day keeps the first failing check; fixing the record recovers', async () => {
    const first = (await state()).failingSince;
    const manual = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains/${domainId}/verify`);
    assert.equal(manual.body.verified, false);
    assert.equal(manual.body.domain.status, 'failing');
    assert.match(manual.body.summary, /sign-ins are still routed to this organization until/);
    await day();
    assert.equal((await state()).failingSince, first);
    await publish();
    const summary = await day();
    assert.equal(summary.recovered, 1);
    const s = await state();
    assert.equal(s.status, 'verified');
    assert.equal(s.failingSince, null);
    assert.equal(s.graceUntil, null);
    const [ev] = await events('domain.recovered');
    assert.equal(ev.metadata.failingSince, first);
    assert.equal((await notifications()).at(-1)!.event, 'domain.recovered');
  });

  test('after the grace period the domain expires, capture stops, and the audit log says exactly why', async () => {
    await dns.serve([]); // the record is gone: NXDOMAIN
    await day();
    const failingSince = (await state()).failingSince;
    const graceUntil = (await state()).graceUntil;
    for (let i = 1; i < 14; i++) {
      await day();
      assert.equal((await state()).status, 'failing', `day ${i} of the grace period`);
    }
    assert.equal((await discover()).organization?.id, a.orgId, 'still captured on the last day of grace');
    const summary = await day();
    assert.equal(summary.expired, 1);
    const s = await state();
    assert.equal(s.status, 'expired');
    assert.equal(s.capturesLogins, false);
    assert.equal(s.expiredAt, t.clock.now().toISOString());
    assert.equal(s.lastDiagnosis.code, 'record_name_not_found');
    assert.equal((await discover()).organization, null, 'capture stopped');
    const [ev] = await events('domain.expired');
    assert.equal(ev.metadata.captureStopped, true);
    for (const part of [
      'lifecycle.test',
      RECORD,
      failingSince,
      graceUntil,
      '14-day grace period',
      'record_name_not_found',
    ])
      assert.ok(ev.metadata.reason.includes(part), `${part} in ${ev.metadata.reason}`);
    const n = await notifications();
    assert.deepEqual(
      n.map((x) => x.event),
      ['domain.verified', 'domain.failing', 'domain.recovered', 'domain.failing', 'domain.expired'],
    );
    assert.equal(n.at(-1)!.payload.domain.reason, ev.metadata.reason);
  });

  test('an expired domain is not re-checked by the job; verifying it again by hand restores it', async () => {
    await publish();
    const summary = await day();
    assert.equal(summary.checked, 0);
    assert.equal((await state()).status, 'expired');
    const res = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains/${domainId}/verify`);
    assert.equal(res.body.verified, true);
    assert.equal(res.body.domain.expiredAt, null);
    assert.equal((await discover()).organization?.id, a.orgId);
    const [ev] = await events('domain.verified');
    assert.equal(ev.metadata.previousStatus, 'expired');
  });

  test("Palisade's own resolver failing never starts the grace period, however long it lasts; the last verdict is kept beside it", async () => {
    const silent = await silentResolver();
    const saved = t.config.dnsTimeoutMs;
    try {
      const before = (await notifications()).length;
      t.config.dnsServers = [silent.server];
      t.config.dnsTimeoutMs = 100;
      for (let i = 0; i < 4; i++) {
        await day();
        const s = await state();
        assert.equal(
          s.status,
          'verified',
          `day ${i + 1}: an outage of Palisade's resolver is not a verdict on the domain`,
        );
        assert.equal(s.lastDiagnosis.code, 'dns_resolver_failure');
        assert.equal(s.lastDiagnosis.responsibility, 'palisade_resolver');
        assert.equal(s.lastDiagnosis.lastVerdict?.code, 'verified', 'the last real verdict stays beside the outage');
        assert.equal(s.lastDiagnosis.lastVerdict?.lastVerdict, undefined);
      }
      assert.equal((await notifications()).length, before);
      t.config.dnsServers = [dns.server];
      await day();
      const back = await state();
      assert.equal(back.lastDiagnosis.code, 'verified');
      assert.equal(back.lastDiagnosis.lastVerdict, undefined);
    } finally {
      t.config.dnsServers = [dns.server];
      t.config.dnsTimeoutMs = saved;
      await silent.close();
    }
  });

  test("a one-off failure of the domain's name servers alarms nobody; one that lasts two intervals starts the grace period", async () => {
    const saved = t.config.dnsTimeoutMs;
    try {
      const before = (await notifications()).length;
      t.config.dnsTimeoutMs = 300;
      // The real dnsmasq forwards the domain to a name server that does not answer: Palisade's resolver works, the domain's DNS does not.
      await dns.serve(['server=/lifecycle.test/127.0.0.1#9']);
      await day();
      let s = await state();
      assert.equal(s.status, 'verified', 'a blip does not start the grace period');
      assert.equal(s.lastDiagnosis.code, 'dns_timeout');
      assert.equal(s.lastDiagnosis.responsibility, 'domain_name_servers');
      assert.match(s.lastDiagnosis.message, /domain's name servers did not give it an answer/);
      assert.equal(s.lastDiagnosis.lastVerdict.code, 'verified');
      assert.equal((await notifications()).length, before);
      await publish();
      await day();
      assert.equal((await state()).lastDiagnosis.code, 'verified');
      // Now the name servers stay dead: two intervals without a good check start the grace period.
      await dns.serve(['server=/lifecycle.test/127.0.0.1#9']);
      await day();
      assert.equal((await state()).status, 'verified');
      await day();
      s = await state();
      assert.equal(s.status, 'failing');
      assert.equal(s.lastDiagnosis.code, 'dns_timeout');
      assert.equal(s.lastDiagnosis.dnsSide, true);
      assert.equal((await notifications()).at(-1)!.event, 'domain.failing');
      await publish();
      await day();
      assert.equal((await state()).status, 'verified');
    } finally {
      await publish();
      t.config.dnsTimeoutMs = saved;
    }
  });

  test('the audit chain still verifies after all transitions', async () => {
    const res = await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events/verify`);
    assert.equal(res.status, 200);
    assert.equal(res.body.ok, true, JSON.stringify(res.body));
    assert.ok(res.body.eventsChecked >= 10);
  });
});
