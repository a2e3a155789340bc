import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { deliverDueEmail } from '../../src/email/deliver.js';
import { openEmailBody } from '../../src/email/outbox.js';
import { closeTransport } from '../../src/email/transport.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type SmtpPeer, startSmtpPeer } from '../peers/opensmtpd.js';

const run = promisify(execFile);

/**
 * Mail through a REAL MTA (Debian's OpenSMTPD on loopback, Maildir read back with mailparser):
 * invitations arrive with their link; an MTA outage loses nothing and sends nothing twice; a
 * message that fails every attempt is dead-lettered where admins see it and can send it again;
 * `palisade email test` says what is wrong.
 */
describe('email delivery through a real MTA', () => {
  let t: TestApp;
  let smtp: SmtpPeer;
  let acme: { orgId: string; owner: Agent };
  const outbox = () => t.db.database.db.selectFrom('email_outbox').selectAll().orderBy('id').execute();

  before(async () => {
    smtp = await startSmtpPeer();
    t = await createTestApp({ smtpUrl: smtp.url, smtpFrom: 'Palisade <palisade@palisade.test>', emailMaxAttempts: 3 });
    acme = await t.seedOrg('Acme', 'owner@acme.test');
  });
  after(async () => {
    closeTransport(t.config);
    await t.close();
    await smtp.cleanup();
  });

  test('an invitation arrives at the address with its one-time link, and the stored copy is erased once sent', async () => {
    const res = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members`, {
      email: 'ann@example.test',
      role: 'admin',
    });
    assert.equal(res.status, 201, res.raw.body);
    const [queued] = await outbox();
    assert.equal(queued?.status, 'queued');
    assert.ok(queued?.body_ct && !queued.body_ct.includes('pls_lnk_'), 'the body is sealed at rest');
    const summary = await deliverDueEmail(t.system);
    assert.deepEqual(summary, { sent: 1, retried: 0, dead: 0 });
    const [mail] = await smtp.waitFor(1);
    assert.equal(mail!.to && 'text' in mail!.to ? mail!.to.text : '', 'ann@example.test');
    assert.equal(mail!.from?.text, '"Palisade" <palisade@palisade.test>');
    assert.equal(mail!.subject, 'You are invited to Acme in Palisade');
    assert.equal(mail!.messageId, queued.message_id);
    const link = /http:\/\/palisade\.test\/setup#token=pls_lnk_[A-Za-z0-9_-]{43}/.exec(mail!.text ?? '')?.[0];
    assert.ok(link, mail!.text);
    assert.ok(String(mail!.html).includes(link), 'the HTML part carries the same link');
    const sent = (await outbox())[0]!;
    assert.deepEqual(
      [sent.status, sent.body_ct, sent.body_key],
      ['sent', null, null],
      'nothing left to steal from the database',
    );
    const ann = await t.redeem(link, 'ann@example.test');
    assert.equal((await ann.get(`/api/v1/orgs/${acme.orgId}`)).status, 200);
  });

  test('an MTA outage loses no mail and sends none twice', async () => {
    await smtp.stop();
    for (const who of ['bea', 'cal', 'dee'])
      assert.equal(
        (await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members`, { email: `${who}@example.test` })).status,
        201,
      );
    const failed = await deliverDueEmail(t.system);
    assert.deepEqual(failed, { sent: 0, retried: 3, dead: 0 });
    const waiting = (await outbox()).filter((r) => r.status === 'queued');
    assert.equal(waiting.length, 3);
    assert.match(
      waiting[0]!.last_error!,
      new RegExp(`No SMTP server accepted a connection at smtp://127\\.0\\.0\\.1:${smtp.port}`),
    );
    // Nothing is due again before the backoff: a second run right away sends nothing.
    assert.deepEqual(await deliverDueEmail(t.system), { sent: 0, retried: 0, dead: 0 });
    await smtp.start();
    t.clock.advance(31_000);
    // Two processes deliver at once: each message is leased by one of them.
    const [a, b] = await Promise.all([deliverDueEmail(t.system, 'process-a'), deliverDueEmail(t.system, 'process-b')]);
    assert.equal(a.sent + b.sent, 3);
    const all = await smtp.waitFor(4);
    await new Promise((r) => setTimeout(r, 500));
    const received = (await smtp.messages()).map((m) => (m.to && 'text' in m.to ? m.to.text : ''));
    assert.deepEqual(
      received.sort(),
      ['ann@example.test', 'bea@example.test', 'cal@example.test', 'dee@example.test'],
      `each once: ${received.join(', ')} (${all.length})`,
    );
    assert.deepEqual(await deliverDueEmail(t.system), { sent: 0, retried: 0, dead: 0 });
  });

  test('a message that fails every attempt is dead-lettered, shown to admins with the reason, and can be sent again', async () => {
    await smtp.stop();
    await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members`, { email: 'eve@example.test' });
    for (let i = 0; i < 3; i++) {
      await deliverDueEmail(t.system);
      t.clock.advance(3 * 3_600_000);
    }
    const dead = await acme.owner.get(`/api/v1/orgs/${acme.orgId}/email-deliveries?status=dead`);
    assert.equal(dead.status, 200);
    assert.equal(dead.body.data.length, 1);
    const d = dead.body.data[0];
    assert.deepEqual([d.to, d.template, d.attempts, d.retryable], ['eve@example.test', 'invitation', 3, true]);
    assert.match(d.lastError, /No SMTP server accepted a connection/);
    assert.ok(!JSON.stringify(dead.body).includes('pls_lnk_'), 'admins never see the body');
    // The operator sees the same list.
    const env = {
      ...process.env,
      DATABASE_URL: t.db.url,
      PALISADE_MASTER_KEY: t.config.masterKey,
      PALISADE_LOG_LEVEL: 'silent',
    };
    const cli = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'email', 'dead-letters'], { env });
    assert.match(cli.stdout, /invitation to eve@example\.test after 3 attempt\(s\): No SMTP server/);
    // Another organization cannot see or retry it.
    const other = await t.seedOrg('Globex', 'owner@globex.test');
    assert.equal((await other.owner.post(`/api/v1/orgs/${acme.orgId}/email-deliveries/${d.id}/retry`)).status, 404);
    await smtp.start();
    const retried = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/email-deliveries/${d.id}/retry`);
    assert.equal(retried.status, 200, retried.raw.body);
    assert.equal(retried.body.status, 'queued');
    assert.deepEqual(await deliverDueEmail(t.system), { sent: 1, retried: 0, dead: 0 });
    const msgs = await smtp.waitFor(5);
    assert.ok(msgs.some((m) => m.to && 'text' in m.to && m.to.text === 'eve@example.test'));
    const audit = await acme.owner.get(`/api/v1/orgs/${acme.orgId}/audit-events?action=email.retried`);
    assert.equal(audit.body.data.length, 1);
  });

  test('a body that cannot be opened (another master key) is dead at once, not retried forever', async () => {
    await acme.owner.post(`/api/v1/orgs/${acme.orgId}/members`, { email: 'fay@example.test' });
    const row = (await outbox()).find((r) => r.to_address === 'fay@example.test')!;
    const otherKey = { ...t.config, masterKey: randomBytes(32).toString('base64') };
    assert.equal(await openEmailBody(otherKey, row), null);
    assert.ok(await openEmailBody(t.config, row));
  });

  test('palisade email test --to sends through the configured server, and names the server when it cannot', async () => {
    const env = {
      ...process.env,
      DATABASE_URL: t.db.url,
      PALISADE_SMTP_URL: smtp.url,
      PALISADE_SMTP_FROM: 'palisade@palisade.test',
      PALISADE_LOG_LEVEL: 'silent',
    };
    const before = (await smtp.messages()).length;
    const ok = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'email', 'test', '--to', 'ops@example.test'],
      { env },
    );
    assert.match(ok.stdout, /Sent to ops@example\.test through smtp:\/\/127\.0\.0\.1:\d+/);
    const msgs = await smtp.waitFor(before + 1);
    assert.equal(msgs.at(-1)?.subject, 'Palisade test message');
    await smtp.stop();
    const down = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'email', 'test', '--to', 'ops@example.test'],
      { env },
    ).then(
      () => assert.fail('the command should fail while the server is down'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(down.code, 1);
    assert.match(down.stderr, /email_delivery_failed.*No SMTP server accepted a connection at smtp:\/\/127\.0\.0\.1/);
    await smtp.start();
    const unset = await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', 'email', 'test', '--to', 'ops@example.test'],
      { env: { ...env, PALISADE_SMTP_URL: '' } },
    ).catch((err: { code: number; stderr: string }) => err);
    assert.match((unset as { stderr: string }).stderr, /email_not_configured.*PALISADE_SMTP_URL/);
  });
});
