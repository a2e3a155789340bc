import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent } from '../../src/audit/event.js';
import { deliver, explainError } from '../../src/streams/transports.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { freePort } from '../peers/rsyslog.js';

/**
 * What a new admin reads when a destination is refused or cannot be reached: the reason and what
 * to change, never a bare "fetch failed", and never the URL's path or query (they may hold a token).
 */
const event: AuditEvent = {
  id: 'evt_diag',
  orgId: 'org_diag',
  seq: 1,
  occurredAt: '2026-03-01T12:00:00.000Z',
  actor: { type: 'system', id: 'test', email: null, ip: null, userAgent: null },
  action: 'test.happened',
  targets: [],
  outcome: 'success',
  metadata: {},
  requestId: null,
  prevHash: '0'.repeat(64),
  hash: '1'.repeat(64),
};

describe('stream diagnostics', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t?.close());

  test('an http:// destination is refused with the variable that allows it in a lab', async () => {
    const { orgId, owner } = await t.seedOrg('Diag', 'owner@diag.example');
    const res = await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
      name: 'lab',
      kind: 'webhook',
      format: 'ocsf',
      url: 'http://127.0.0.1:9/hook',
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'https_required');
    assert.match(res.body.error.message, /PALISADE_AUDIT_STREAMS_ALLOW_HTTP=true/);
    // https is accepted as before.
    assert.equal(
      (
        await owner.post(`/api/v1/orgs/${orgId}/audit-streams`, {
          name: 'prod',
          kind: 'webhook',
          format: 'ocsf',
          url: 'https://siem.example/hook',
        })
      ).status,
      201,
    );
  });

  test('a webhook nobody listens to says where and why (the cause of "fetch failed"), without the path or query', async () => {
    const port = await freePort();
    const r = await deliver(
      t.config,
      {
        id: 'ast_x',
        kind: 'webhook',
        format: 'ocsf',
        settings: { url: `http://127.0.0.1:${port}/hooks/T0KEN-IN-PATH?token=s3cret` },
        secret: 'whsec_x',
      },
      [event],
      new Date(),
    );
    assert.equal(r.ok, false);
    assert.equal(
      r.error,
      `webhook receiver http://127.0.0.1:${port} could not be reached: connect ECONNREFUSED 127.0.0.1:${port}. Nothing is listening there: is the receiver running?`,
    );
    assert.ok(!r.error?.includes('T0KEN') && !r.error?.includes('s3cret'));
  });

  test('a syslog port nobody listens to is named with the same hint', async () => {
    const port = await freePort();
    const r = await deliver(
      t.config,
      { id: 'ast_y', kind: 'syslog_tcp', format: 'ocsf', settings: { host: '127.0.0.1', port }, secret: null },
      [event],
      new Date(),
    );
    assert.equal(r.ok, false);
    assert.equal(
      r.error,
      `connect ECONNREFUSED 127.0.0.1:${port}. Nothing is listening there: is the receiver running?`,
    );
  });

  test('timeouts and certificate problems say what to change', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    assert.equal(
      explainError({ kind: 'splunk_hec', settings: { url: 'https://hec.example:8088/x?y=z' } }, timeout),
      'splunk_hec receiver https://hec.example:8088 did not answer within 10s',
    );
    const untrusted = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    assert.match(
      explainError({ kind: 'syslog_tls', settings: { host: '127.0.0.1', port: 6514 } }, untrusted),
      /^self-signed certificate in certificate chain\. Set caPem to the CA/,
    );
    const fetchUntrusted = Object.assign(new TypeError('fetch failed'), { cause: untrusted });
    assert.match(
      explainError({ kind: 'webhook', settings: { url: 'https://siem.example/hook' } }, fetchUntrusted),
      /^webhook receiver https:\/\/siem\.example could not be reached: self-signed certificate in certificate chain\. .*NODE_EXTRA_CA_CERTS/,
    );
    const altname = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    assert.match(
      explainError({ kind: 'syslog_tls', settings: { host: '127.0.0.1', port: 6514 } }, altname),
      /Set serverName/,
    );
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    assert.match(
      explainError({ kind: 'syslog_tcp', settings: { host: '127.0.0.1', port: 6514 } }, reset),
      /use kind syslog_tls/,
    );
    assert.equal(
      explainError({ kind: 'webhook', settings: { url: 'https://siem.example' } }, 'plain string'),
      'plain string',
    );
  });
});
