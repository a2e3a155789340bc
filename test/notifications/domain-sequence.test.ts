import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { domainRecheckJob } from '../../src/domains/jobs.js';
import { deliverDueEmail } from '../../src/email/deliver.js';
import { closeTransport } from '../../src/email/transport.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import type { Scheduler } from '../../src/jobs/scheduler.js';
import { notificationPass } from '../../src/notifications/jobs.js';
import { Dnsmasq } from '../domains/dns-peers.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type SmtpPeer, startSmtpPeer } from '../peers/opensmtpd.js';

const DAY = 86_400_000;

/**
 * The seed's complaint, end to end: a verified domain whose TXT record vanishes (a REAL dnsmasq
 * stops serving it), the daily re-check job on a ManualClock, and every notification emailed
 * through a REAL MTA (OpenSMTPD) and read back from its Maildir. Over 30 simulated days the
 * documented sequence arrives exactly, and one "resolved" when the record returns.
 */
describe('a domain whose record vanishes: the notification sequence over 30 days', () => {
  let t: TestApp;
  let smtp: SmtpPeer;
  let org: { orgId: string; owner: Agent };
  let sched: Scheduler;
  const dns = new Dnsmasq();
  let domainId = '';
  let token = '';
  const RECORD = '_palisade-challenge.seq.test';
  const seen: string[] = [];
  const domainNotifications = () =>
    t.db.database.db
      .selectFrom('notifications')
      .selectAll()
      .where('org_id', '=', org.orgId)
      .where('type', 'like', 'domain.%')
      .orderBy('id')
      .execute();
  /** The MTA writes to the Maildir a moment after accepting: wait until `n` messages are there. */
  const palisadeMail = async (n = 0) => {
    for (let i = 0; i < 100; i++) {
      const m = await domainMail();
      if (m.length >= n) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    return domainMail();
  };
  const domainMail = async () =>
    (await smtp.messages()).filter((m) =>
      /^\[Palisade\] .*seq\.test (failed|expires|expired|is verified)/.test(m.subject ?? ''),
    );

  /** One simulated day: the re-check job, then a notification pass, then the mail queue. */
  const day = async (n: number) => {
    t.clock.advance(DAY);
    const r = (await sched.tick()).find((x) => x.name === 'domains.recheck');
    assert.equal(r?.status, 'succeeded', r?.error);
    const before = (await domainNotifications()).length;
    await notificationPass(t.system);
    for (const x of (await domainNotifications()).slice(before)) seen.push(`day ${n}: ${x.type} ${x.phase}`);
    await deliverDueEmail(t.system);
  };

  before(async () => {
    smtp = await startSmtpPeer();
    t = await createTestApp({ smtpUrl: smtp.url });
    org = await t.seedOrg('Sequence Co', 'owner@seq.test');
    await t.addMember(org.owner, org.orgId, 'admin@seq.test', 'admin');
    // A month of clock time passes: the owner uses a non-expiring API token rather than a 12-hour session.
    org.owner.bearer = (await org.owner.post('/api/v1/me/tokens', { name: 'sequence script' })).body.token;
    const res = await org.owner.post(`/api/v1/orgs/${org.orgId}/domains`, { domain: 'seq.test' });
    domainId = res.body.id;
    token = res.body.instructions.value;
    await dns.serve([`txt-record=${RECORD},"${token}"`]);
    t.config.dnsServers = [dns.server];
    assert.equal((await org.owner.post(`/api/v1/orgs/${org.orgId}/domains/${domainId}/verify`)).body.verified, true);
    sched = createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config }, [domainRecheckJob(t.config)]);
    await sched.tick();
    await notificationPass(t.system);
    await deliverDueEmail(t.system);
  });
  after(async () => {
    closeTransport(t.config);
    await dns.close();
    await t.close();
    await smtp.cleanup();
  });

  test('a verified domain with its record in place sends nothing', async () => {
    assert.deepEqual(await domainNotifications(), []);
  });

  test('over 30 days: first failure, daily reminders, 7- and 1-day expiry warnings, expired, weekly reminders', async () => {
    await dns.serve([]); // the record vanishes (NXDOMAIN)
    for (let n = 1; n <= 30; n++) await day(n);
    const expected = [
      'day 1: domain.verification_failing alert',
      ...[2, 3, 4, 5, 6, 7].map((n) => `day ${n}: domain.verification_failing reminder`),
      'day 8: domain.verification_failing warning',
      ...[9, 10, 11, 12, 13].map((n) => `day ${n}: domain.verification_failing reminder`),
      'day 14: domain.verification_failing warning',
      'day 15: domain.expired alert',
      'day 22: domain.expired reminder',
      'day 29: domain.expired reminder',
    ];
    assert.deepEqual(seen, expected);
    const incidents = await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications/incidents?status=open`);
    assert.equal(incidents.status, 200, incidents.raw.body);
    assert.deepEqual(
      incidents.body.data.map((i: { causeKey: string; type: string }) => [i.causeKey, i.type]),
      [[`domain:${domainId}`, 'domain.expired']],
      'one open incident for the cause',
    );
  });

  test('each notification reached every primary owner and admin through the real MTA, with subject, facts, fix and links', async () => {
    const mail = await palisadeMail(2 * seen.length);
    assert.equal(mail.length, 2 * seen.length, `${mail.length} messages for ${seen.length} notifications`);
    const first = mail.filter((m) =>
      m.subject?.startsWith('[Palisade] Action needed: seq.test failed domain verification'),
    );
    assert.deepEqual(first.map((m) => (m.to && 'text' in m.to ? m.to.text : '')).sort(), [
      'admin@seq.test',
      'owner@seq.test',
    ]);
    const text = first[0]!.text ?? '';
    const stored = (
      await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications?type=domain.verification_failing`)
    ).body.data.at(-1);
    assert.equal(stored.phase, 'alert');
    // The fix is the diagnosis word for word, as the domain page shows it.
    assert.match(
      stored.fix,
      /^seq\.test is not verified: the name _palisade-challenge\.seq\.test does not exist in DNS \(NXDOMAIN\)/,
    );
    assert.ok(text.includes(`What to do: ${stored.fix}`), text);
    assert.ok(text.includes(`recordName: ${RECORD}`), text);
    assert.ok(text.includes(`expectedValue: ${token}`), text);
    assert.ok(text.includes('diagnosisCode: record_name_not_found'), text);
    assert.match(text, /graceUntil: \d{4}-\d\d-\d\dT/);
    assert.ok(
      text.includes(`http://palisade.test/api/v1/orgs/${org.orgId}/domains/${domainId}`),
      'the link to the domain',
    );
    assert.ok(
      String(first[0]!.html).includes(`http://palisade.test/api/v1/orgs/${org.orgId}/domains/${domainId}/verify`),
    );
    const subjects = mail.map((m) => m.subject ?? '');
    assert.equal(subjects.filter((s) => s.startsWith('[Palisade] Warning: seq.test expires in 7 days')).length, 2);
    assert.equal(subjects.filter((s) => s.startsWith('[Palisade] Warning: seq.test expires in 1 day:')).length, 2);
    assert.equal(subjects.filter((s) => s.startsWith('[Palisade] Action needed: seq.test expired')).length, 2);
    assert.equal(
      subjects.filter((s) => s.startsWith('[Palisade] Reminder: Still expired: seq.test expired')).length,
      4,
    );
    // The history shows who was told, through which channel, and the result.
    const history = await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications?type=domain.expired&limit=1`);
    const d = history.body.data[0].deliveries[0];
    assert.deepEqual(
      [d.channelId, d.channelKind, d.recipients, d.status, d.attempts],
      [null, 'email', ['admin@seq.test', 'owner@seq.test'], 'sent', 1],
    );
    assert.deepEqual(
      d.emails.map((e: { status: string }) => e.status),
      ['sent', 'sent'],
    );
  });

  test('when the record returns and the domain is verified again, exactly one "resolved" is sent', async () => {
    await dns.serve([`txt-record=${RECORD},"${token}"`]);
    const v = await org.owner.post(`/api/v1/orgs/${org.orgId}/domains/${domainId}/verify`);
    assert.equal(v.body.verified, true, JSON.stringify(v.body));
    const before = (await domainNotifications()).length;
    await notificationPass(t.system);
    await notificationPass(t.system);
    await deliverDueEmail(t.system);
    for (let n = 31; n <= 33; n++) await day(n);
    const after = (await domainNotifications()).slice(before);
    assert.deepEqual(
      after.map((n) => `${n.type} ${n.phase}`),
      ['domain.recovered resolved'],
      'one message, and no reminder after it',
    );
    const mail = await palisadeMail(2 * seen.length + 2);
    assert.equal(
      mail.filter((m) => m.subject?.startsWith('[Palisade] Resolved: seq.test is verified again')).length,
      2,
    );
    const open = await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications/incidents?status=open`);
    assert.deepEqual(open.body.data, []);
  });
});
