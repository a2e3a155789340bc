import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditEvent } from '../../src/audit/event.js';
import { loadConfig } from '../../src/config.js';
import { draftsForEvent } from '../../src/notifications/from-audit.js';

/**
 * The mapping of audit events whose detectors are costly to drive end to end here (break-glass
 * needs TOTP enrolment, enforcement a fresh SSO test login, the purge weeks of content). The events
 * are written by hand in the exact shape their detectors record (src/sso/totp.ts,
 * src/sso/enforcement.ts, src/workspace/retention.ts, src/sso/diagnosis.ts); the other types are
 * driven by the real detectors in the other files of this folder.
 */
const config = loadConfig({}, { publicUrl: 'http://palisade.test', logLevel: 'silent' });
const ctx = { db: undefined as never, config };
const event = (action: string, over: Partial<AuditEvent> = {}): AuditEvent => ({
  id: 'evt_1',
  orgId: 'org_1',
  seq: 1,
  occurredAt: '2026-03-01T10:00:00.000Z',
  actor: { type: 'user', id: 'usr_1', email: 'owner@map.test', ip: '203.0.113.7', userAgent: 'curl/8' },
  action,
  targets: [],
  outcome: 'success',
  metadata: {},
  requestId: 'req_1',
  prevHash: '',
  hash: '',
  ...over,
});

describe('audit events → notification drafts', () => {
  test('break-glass use is critical and carries who, from where, and the review advice', async () => {
    const [d] = await draftsForEvent(
      ctx,
      event('auth.break_glass_used', {
        targets: [
          { type: 'session', id: 'ses_1' },
          { type: 'user', id: 'usr_1', name: 'owner@map.test' },
        ],
        metadata: {
          method: 'password+totp',
          flagged: true,
          ssoEnforced: true,
          review: 'A primary owner bypassed single sign-on. Confirm with them that this was expected.',
        },
      }),
    );
    assert.deepEqual(
      [d!.type, d!.severity, d!.causeKey, d!.title],
      ['auth.break_glass_used', 'critical', null, 'Break-glass sign-in used by owner@map.test'],
    );
    assert.deepEqual([d!.facts.ip, d!.facts.ssoEnforced], ['203.0.113.7', true]);
    assert.equal(d!.fix, 'A primary owner bypassed single sign-on. Confirm with them that this was expected.');
  });

  test('SSO enforcement on and off', async () => {
    const [on] = await draftsForEvent(
      ctx,
      event('sso.enforcement_enabled', { targets: [{ type: 'sso_connection', id: 'sso_1' }] }),
    );
    const [off] = await draftsForEvent(
      ctx,
      event('sso.enforcement_disabled', { id: 'evt_2', targets: [{ type: 'sso_connection', id: 'sso_1' }] }),
    );
    assert.equal(on!.title, 'Single sign-on enforcement was turned on by owner@map.test');
    assert.equal(off!.title, 'Single sign-on enforcement was turned off by owner@map.test');
    assert.notEqual(on!.dedupKey, off!.dedupKey);
  });

  test('the retention purge summary names what was destroyed', async () => {
    const [d] = await draftsForEvent(
      ctx,
      event('retention.purged', {
        actor: { type: 'system', id: 'job:workspace.retention', email: null, ip: null, userAgent: null },
        metadata: {
          retentionDays: 30,
          cutoff: '2026-01-30T10:00:00.000Z',
          conversations: 3,
          messages: 41,
          files: 2,
          keysDestroyed: 5,
          usersOnHold: 1,
        },
      }),
    );
    assert.equal(d!.title, 'Retention purge removed 3 conversation(s), 41 message(s), 2 file(s)');
    assert.match(
      d!.fix,
      /^Content older than 30 days \(before 2026-01-30T10:00:00\.000Z\) was destroyed .* 1 user\(s\) on legal hold were kept/,
    );
  });

  test('OIDC discovery failures are reported at most once a day per connection; other sign-in failures are not', async () => {
    const failed = (id: string, at: string, code = 'oidc_discovery_failed') =>
      event('sso.login_failed', {
        id,
        occurredAt: at,
        outcome: 'failure',
        targets: [
          { type: 'sso_reference', id: 'ssr_1' },
          { type: 'sso_connection', id: 'sso_9' },
        ],
        metadata: {
          protocol: 'oidc',
          code,
          check: 'OIDC discovery',
          expected: 'https://idp.map.test/.well-known/openid-configuration',
          detail: 'connect ECONNREFUSED',
        },
      });
    const [a] = await draftsForEvent(ctx, failed('evt_a', '2026-03-01T10:00:00.000Z'));
    const [b] = await draftsForEvent(ctx, failed('evt_b', '2026-03-01T18:00:00.000Z'));
    const [c] = await draftsForEvent(ctx, failed('evt_c', '2026-03-02T09:00:00.000Z'));
    assert.equal(a!.dedupKey, b!.dedupKey, 'same day: one notification');
    assert.notEqual(a!.dedupKey, c!.dedupKey);
    assert.match(
      a!.fix,
      /^Palisade could not fetch https:\/\/idp\.map\.test\/\.well-known\/openid-configuration: connect ECONNREFUSED/,
    );
    assert.deepEqual(
      await draftsForEvent(ctx, failed('evt_d', '2026-03-01T10:00:00.000Z', 'saml_signature_invalid')),
      [],
    );
  });

  test('events no notification is about produce nothing', async () => {
    assert.deepEqual(await draftsForEvent(ctx, event('conversation.created')), []);
    assert.deepEqual(
      await draftsForEvent(ctx, event('member.role_changed', { metadata: { from: 'member', to: 'admin' } })),
      [],
    );
  });
});
