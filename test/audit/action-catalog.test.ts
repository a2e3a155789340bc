import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { AUDIT_ACTIONS, auditActionSpec, storedNamesOf } from '../../src/audit/actions.js';
import { recordAudit } from '../../src/audit/record.js';
import { ocsfClassOf } from '../../src/streams/formats.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { testAction } from '../helpers/audit-actions.js';

const src = fileURLToPath(new URL('../../src', import.meta.url));

describe('audit action catalog', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('recordAudit accepts only declared actions: an undeclared one is a compile error', () => {
    // Never run: type-checked only (tsc, part of the test command, fails if either line compiles).
    const misspelt = (orgId: string) =>
      t.db.database.db.transaction().execute(async (tx) => {
        // @ts-expect-error 'member.role_chnaged' is not declared in any audit-actions.ts (tsc fails if this line compiles)
        await recordAudit(tx, t.system, { orgId, action: 'member.role_chnaged' });
        // @ts-expect-error a synthetic action (never stored) is not accepted either
        await recordAudit(tx, t.system, { orgId, action: 'stream.test_sent' });
      });
    assert.equal(typeof misspelt, 'function');
  });

  test('every action is a dotted lower_snake name, declared once, with a one-line description', () => {
    assert.ok(AUDIT_ACTIONS.length > 100);
    const names = AUDIT_ACTIONS.flatMap((e) => [e.action, ...(e.formerly ?? [])]);
    assert.equal(new Set(names).size, names.length, 'an action or former name appears twice');
    for (const e of AUDIT_ACTIONS) {
      assert.match(e.action, /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/, e.action);
      assert.ok(e.description.length > 15 && !e.description.includes('\n'), `${e.action}: description`);
    }
  });

  test("every domain's audit-actions.ts imports nothing at run time (only types), so gathering them creates no dependency", () => {
    const files = readdirSync(src, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(src, d.name, 'audit-actions.ts'));
    const found = files.filter((f) => {
      try {
        readFileSync(f);
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(found.length >= 14, `found ${found.length} audit-actions.ts files`);
    for (const f of found) {
      const imports = readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('import '));
      assert.deepEqual(
        imports.filter((l) => !l.startsWith('import type ')),
        [],
        f,
      );
    }
  });

  test('renamed actions keep their former names: both map to one declaration and one OCSF class', () => {
    for (const [now, before] of [
      ['gateway.request_handled', 'gateway.request'],
      ['domain.failing', 'domain.verification_failing'],
      ['auth.logged_out', 'auth.logout'],
      ['stream.test_sent', 'stream.test_event'],
    ] as const) {
      assert.equal(auditActionSpec(before)?.action, now);
      assert.deepEqual(storedNamesOf(before).sort(), [before, now].sort());
      assert.deepEqual(storedNamesOf(now).sort(), [before, now].sort());
      assert.deepEqual(ocsfClassOf(before), ocsfClassOf(now));
    }
    assert.deepEqual(storedNamesOf('member.invited'), ['member.invited']);
    assert.deepEqual(
      [ocsfClassOf('auth.logged_out').classUid, ocsfClassOf('auth.logged_out').activityName],
      [3002, 'Logoff'],
    );
  });

  test('search and export find events stored under a former name with the new name, and the other way round', async () => {
    const { orgId, owner } = await t.seedOrg('Renamed', 'owner@renamed.example');
    // An event written before the rename (the old name, as the chain keeps it) and one after.
    await t.db.database.db.transaction().execute(async (tx) => {
      await recordAudit(tx, t.system, { orgId, action: testAction('gateway.request'), metadata: { when: 'before' } });
      await recordAudit(tx, t.system, { orgId, action: 'gateway.request_handled', metadata: { when: 'after' } });
    });
    for (const filter of ['gateway.request', 'gateway.request_handled', 'gateway.*', 'gateway.request*']) {
      const res = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=${filter}&order=asc`);
      assert.equal(res.status, 200, filter);
      assert.deepEqual(
        res.body.data.map((e: { metadata: { when: string } }) => e.metadata.when),
        ['before', 'after'],
        filter,
      );
    }
    const exp = await owner.get(
      `/api/v1/orgs/${orgId}/audit-events/export?format=ndjson&action=gateway.request_handled`,
    );
    assert.equal(exp.raw.body.trim().split('\n').length, 2);
    const other = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=gateway.upstream_configured`);
    assert.deepEqual(other.body.data, []);
  });

  test('GET /api/v1/audit-actions lists the catalog to a signed-in caller and refuses an anonymous one', async () => {
    const anon = await t.anonymous().get('/api/v1/audit-actions');
    assert.equal(anon.status, 401);
    assert.equal(anon.body.error.code, 'authentication_required');
    const { owner } = await t.seedOrg('Listing', 'owner@listing.example');
    const res = await owner.get('/api/v1/audit-actions');
    assert.equal(res.status, 200);
    assert.equal(res.body.data.length, AUDIT_ACTIONS.length);
    const gw = res.body.data.find((a: { action: string }) => a.action === 'gateway.request_handled');
    assert.deepEqual(gw, {
      action: 'gateway.request_handled',
      domain: 'gateway',
      description: auditActionSpec('gateway.request_handled')?.description,
      securityRelevant: false,
      ocsf: { classUid: 6003, className: 'API Activity', activityId: 99, activityName: 'Other' },
      formerNames: ['gateway.request'],
      synthetic: false,
    });
    const role = res.body.data.find((a: { action: string }) => a.action === 'member.role_changed');
    assert.equal(role.securityRelevant, true);
    assert.deepEqual(role.ocsf, {
      classUid: 3001,
      className: 'Account Change',
      activityId: 7,
      activityName: 'Attach Policy',
    });
  });
});
