import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditEvent } from '../../src/audit/event.js';
import { frameOctetCounted, ocsfClassOf, toCef, toOcsf, toSyslog } from '../../src/streams/formats.js';
import { backoffMs } from '../../src/streams/deliver.js';
import { hecBody, webhookSignatureHeaders } from '../../src/streams/transports.js';
import { createHmac } from 'node:crypto';

const event = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  id: 'evt_01',
  orgId: 'org_1',
  seq: 7,
  occurredAt: '2026-03-01T12:00:00.000Z',
  actor: { type: 'user', id: 'usr_1', email: 'a@x.example', ip: '203.0.113.9', userAgent: 'UA|x=1\\' },
  action: 'member.role_changed',
  targets: [{ type: 'user', id: 'usr_2', name: 'b@x.example' }],
  outcome: 'success',
  metadata: { from: 'member', to: 'admin' },
  requestId: 'req_1',
  prevHash: 'a'.repeat(64),
  hash: 'b'.repeat(64),
  ...over,
});

describe('stream formats', () => {
  test('OCSF classes: Authentication 3002, Account Change 3001, API Activity 6003 for the rest', () => {
    assert.deepEqual(
      [ocsfClassOf('auth.login_succeeded').classUid, ocsfClassOf('auth.login_succeeded').activityId],
      [3002, 1],
    );
    assert.deepEqual([ocsfClassOf('auth.logout').classUid, ocsfClassOf('auth.logout').activityId], [3002, 2]);
    assert.deepEqual([ocsfClassOf('member.invited').classUid, ocsfClassOf('member.invited').activityId], [3001, 1]);
    assert.deepEqual(
      [ocsfClassOf('member.role_changed').classUid, ocsfClassOf('member.role_changed').activityId],
      [3001, 7],
    );
    assert.deepEqual([ocsfClassOf('member.removed').classUid, ocsfClassOf('member.removed').activityId], [3001, 6]);
    assert.deepEqual([ocsfClassOf('org.updated').classUid, ocsfClassOf('org.updated').activityId], [6003, 3]);
    assert.deepEqual([ocsfClassOf('audit.exported').classUid, ocsfClassOf('audit.exported').activityId], [6003, 2]);
    // Every kind of action Palisade writes lands in the class the docs name (docs/audit-streams.md).
    const expected: [string, number, number][] = [
      ['auth.login_succeeded', 3002, 1],
      ['auth.login_failed', 3002, 1],
      ['sso.login_failed', 3002, 1],
      ['auth.break_glass_used', 3002, 1],
      ['auth.logout', 3002, 2],
      // A password or second factor is a change to the account, not a sign-in.
      ['auth.password_set', 3001, 3],
      ['auth.totp_enrolled', 3001, 10],
      ['auth.totp_removed', 3001, 11],
      ['member.joined', 3001, 1],
      ['member.auto_joined', 3001, 1],
      ['user.created', 3001, 1],
      ['scim.member_provisioned', 3001, 1],
      ['scim.member_activated', 3001, 2],
      ['scim.deprovision_refused', 3001, 99],
      // SCIM deactivation suspends, reactivation restores, DELETE removes: changes to a person's account.
      ['scim.user_deactivated', 3001, 5],
      ['scim.user_reactivated', 3001, 2],
      ['scim.user_deleted', 3001, 6],
      ['member.reactivated', 3001, 2],
      // SSO and SCIM configuration is administration, not authentication or an account change.
      ['sso.connection_created', 6003, 1],
      ['sso.enforcement_enabled', 6003, 3],
      ['sso.metadata_refreshed', 6003, 3],
      ['scim.directory_deleted', 6003, 4],
      ['scim.token_rotated', 6003, 3],
      ['stream.delivery_failed', 6003, 3],
      ['stream.recovered', 6003, 3],
      ['legal_hold.placed', 6003, 1],
      ['legal_hold.lifted', 6003, 3],
      ['domain.released', 6003, 4],
      ['gateway.request', 6003, 99],
      // Renamed actions map like the names their older events keep.
      ['gateway.request_handled', 6003, 99],
      ['auth.logged_out', 3002, 2],
      ['domain.failing', 6003, 3],
      ['github_repository.allowlisted', 6003, 1],
    ];
    assert.deepEqual(
      expected.map(([a]) => [a, ocsfClassOf(a).classUid, ocsfClassOf(a).activityId]),
      expected,
    );
    assert.equal(ocsfClassOf('auth.totp_enrolled').activityName, 'MFA Factor Enable');
    assert.deepEqual(
      toOcsf(event({ action: 'auth.password_set', targets: [] })).user,
      { uid: 'usr_1', email_addr: 'a@x.example', type: 'user' },
      'no target: the actor',
    );
    const o = toOcsf(event());
    assert.equal(o.type_uid, 300107);
    assert.equal(o.time, Date.parse('2026-03-01T12:00:00.000Z'));
    assert.deepEqual((o.metadata as Record<string, unknown>).uid, 'evt_01');
    assert.equal((o.metadata as Record<string, unknown>).version, '1.1.0');
    assert.deepEqual(o.user, { uid: 'usr_2', name: 'b@x.example', type: 'user' });
    assert.equal((o.src_endpoint as { ip: string }).ip, '203.0.113.9');
    assert.equal(toOcsf(event({ outcome: 'denied' })).status_id, 2);
  });

  test('CEF escapes header pipes and extension equals, backslashes and newlines', () => {
    const cef = toCef(event({ action: 'org.updated', metadata: { note: 'a=b\nc' } }));
    assert.match(
      cef,
      /^CEF:0\|Palisade\|Palisade\|0\.1\.0\|org\.updated\|org\.updated\|3\|rt=1772366400000 externalId=evt_01 /,
    );
    assert.ok(cef.includes('requestClientApplication=UA|x\\=1\\\\'));
    assert.ok(cef.includes('cs3={"note":"a\\=b\\\\nc"}'), cef);
    assert.ok(!cef.includes('\n'));
    assert.ok(cef.includes('cn1Label=seq cn1=7'));
  });

  test('RFC 5424 with structured data escaping and octet counting by bytes, not characters', () => {
    const msg = toSyslog(event({ orgId: 'org_"]\\' }), 'palisade', 'host name');
    assert.match(
      msg,
      /^<86>1 2026-03-01T12:00:00\.000Z host_name palisade - member\.role_changed \[palisade@32473 eventId="evt_01" orgId="org_\\"\\]\\\\" seq="7" outcome="success"\] \uFEFF\{/,
    );
    assert.equal(toSyslog(event({ outcome: 'failure' }), 'cef', 'h').slice(0, 4), '<84>');
    const framed = frameOctetCounted('ü');
    assert.equal(framed.toString(), '2 ü');
  });

  test('webhook signature is HMAC-SHA256 over "t.body" and backoff grows with jitter, capped', () => {
    const h = webhookSignatureHeaders('whsec_x', '{"a":1}', new Date(1_700_000_000_000));
    assert.equal(
      h['palisade-signature'],
      `t=1700000000,v1=${createHmac('sha256', 'whsec_x').update('1700000000.{"a":1}').digest('hex')}`,
    );
    assert.equal(
      backoffMs(1, () => 0),
      500,
    );
    assert.equal(
      backoffMs(1, () => 1),
      1000,
    );
    assert.equal(
      backoffMs(4, () => 1),
      8000,
    );
    assert.equal(
      backoffMs(40, () => 1),
      300_000,
    );
    assert.ok(backoffMs(3, () => 0.5) > backoffMs(3, () => 0));
  });

  test('HEC body is concatenated event objects with epoch seconds', () => {
    const body = hecBody({ id: 'ast', kind: 'splunk_hec', format: 'ocsf', settings: { index: 'sec' }, secret: 't' }, [
      event(),
      event({ id: 'evt_02', seq: 8 }),
    ]);
    const lines = body.split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.equal(lines[0].time, Date.parse('2026-03-01T12:00:00.000Z') / 1000);
    assert.equal(lines[0].sourcetype, 'palisade:ocsf');
    assert.equal(lines[0].index, 'sec');
    assert.equal(lines[1].event.metadata.uid, 'evt_02');
  });
});
