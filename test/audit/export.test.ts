import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { recordAuditBatch } from '../../src/audit/record.js';
import { CSV_PARSE_OPTIONS, csvEscapeCell, eventFromCsvRecord } from '../../src/audit/export.js';
import type { AuditEvent } from '../../src/audit/event.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { testAction } from '../helpers/audit-actions.js';

const run = promisify(execFile);

describe('audit export', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Awaited<ReturnType<TestApp['seedOrg']>>['owner'];
  let dir: string;
  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Exporter', 'owner@exporter.example'));
    dir = mkdtempSync(join(tmpdir(), 'palisade-export-'));
    // Hostile values: formula starters, quotes, commas, newlines, unicode, empty strings and nulls.
    const nasty = [
      '=HYPERLINK("http://evil.example","x")',
      '+1+2',
      '-3',
      '@SUM(A1)',
      '\tTab',
      '\rCR',
      "'quoted",
      'a,b "c"\nnext line',
      'ünïcødé ✓',
      '',
    ];
    await t.db.database.db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        { ...t.system, meta: { requestId: 'req_export', ip: '198.51.100.7', userAgent: '=cmd|calc' } },
        nasty.map((v, i) => ({
          orgId,
          action: testAction('test.nasty_value'),
          targets: [{ type: 'thing', id: `thg_${i}`, name: v }],
          metadata: { v, n: i, nested: { v } },
          outcome: i % 2 ? 'failure' : 'success',
        })),
      ),
    );
    for (let i = 0; i < 1205; i++)
      if (i % 400 === 0) await owner.post(`/api/v1/orgs/${orgId}/members`, { email: `m${i}@exporter.example` });
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  async function allEvents(): Promise<AuditEvent[]> {
    const out: AuditEvent[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: AuditEvent[]; nextCursor: string | null } } = await owner.get(
        `/api/v1/orgs/${orgId}/audit-events?order=asc&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
      );
      out.push(...res.body.data);
      cursor = res.body.nextCursor;
    } while (cursor);
    return out.sort((a, b) => a.seq - b.seq);
  }

  test('NDJSON round trip equals the events, and the export is itself an audit event', async () => {
    const before = await allEvents();
    const res = await owner.get(`/api/v1/orgs/${orgId}/audit-events/export?format=ndjson`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/x-ndjson/);
    assert.match(String(res.headers['content-disposition']), /attachment; filename="audit-org_.*\.ndjson"/);
    const parsed = res.raw.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    assert.deepEqual(parsed, before);
    const exported = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=audit.exported`);
    assert.equal(exported.body.data.length, 1);
    assert.equal(exported.body.data[0].metadata.format, 'ndjson');
    assert.equal(exported.body.data[0].actor.email, 'owner@exporter.example');
    assert.equal(exported.body.data[0].metadata.upToSeq, before.length);
  });

  test('CSV is RFC 4180, neutralises formulas, and re-parses (csv-parse) to the same events', async () => {
    const events = (await allEvents()).filter((e) => e.action !== 'audit.exported' || true);
    const res = await owner.get(`/api/v1/orgs/${orgId}/audit-events/export?format=csv`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /text\/csv/);
    const body = res.raw.body;
    // No cell may start with a formula character once a spreadsheet unquotes it.
    const raw = parse(body, { relax_quotes: false }) as string[][];
    for (const row of raw)
      for (const c of row) assert.ok(!/^[=+\-@\t\r]/.test(c), `dangerous cell ${JSON.stringify(c)}`);
    assert.ok(body.includes(`"'=cmd|calc"`), 'user agent formula is prefixed');
    const records = parse(body, CSV_PARSE_OPTIONS) as Record<string, string | null>[];
    const back = records.map((r) => eventFromCsvRecord(r));
    assert.deepEqual(back, events.slice(0, back.length));
    assert.equal(back.length, events.length);
    // Null and empty string stay distinct.
    const emptyName = back.find((e) => e.targets[0]?.name === '');
    assert.ok(emptyName);
    assert.equal(back[0]!.actor.ip, null);
  });

  test('escaping is reversible for every dangerous first character', () => {
    for (const v of ['=1', '+1', '-1', '@a', '\tx', '\rx', "'x", "''x", 'plain', '']) {
      const escaped = csvEscapeCell(v);
      assert.ok(!/^[=+\-@\t\r]/.test(escaped));
      assert.equal(escaped.startsWith("'") ? escaped.slice(1) : escaped, v);
    }
  });

  test('JSON array export and the same filters as search', async () => {
    const res = await owner.get(
      `/api/v1/orgs/${orgId}/audit-events/export?format=json&action=member.*&outcome=success`,
    );
    assert.equal(res.status, 200);
    const arr = JSON.parse(res.raw.body) as AuditEvent[];
    assert.ok(arr.length >= 4);
    assert.ok(arr.every((e) => e.action.startsWith('member.') && e.outcome === 'success'));
    const search = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=member.*&outcome=success&order=asc`);
    assert.deepEqual(
      arr.map((e) => e.id),
      search.body.data.map((e: AuditEvent) => e.id),
    );
    const byIp = await owner.get(`/api/v1/orgs/${orgId}/audit-events/export?format=json&ip=198.51.100.7`);
    assert.equal((JSON.parse(byIp.raw.body) as AuditEvent[]).length, 10);
    const empty = await owner.get(`/api/v1/orgs/${orgId}/audit-events/export?format=json&action=nothing.here`);
    assert.deepEqual(JSON.parse(empty.raw.body), []);
  });

  test('bad input is a 400, members cannot export, and the export streams many pages', async () => {
    const bad = await owner.get(`/api/v1/orgs/${orgId}/audit-events/export?format=xlsx`);
    assert.equal(bad.status, 400);
    const badTime = await owner.get(`/api/v1/orgs/${orgId}/audit-events/export?from=soon`);
    assert.equal(badTime.body.error.code, 'invalid_time');
    const { agent } = await t.addMember(owner, orgId, 'plain@exporter.example', 'member');
    const denied = await agent.get(`/api/v1/orgs/${orgId}/audit-events/export`);
    assert.equal(denied.status, 403);
    // Over two keyset pages of 1000.
    await t.db.database.db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        t.system,
        Array.from({ length: 2100 }, (_, i) => ({ orgId, action: testAction('test.bulk'), metadata: { i } })),
      ),
    );
    const res = await owner.get(`/api/v1/orgs/${orgId}/audit-events/export?format=ndjson&action=test.bulk`);
    const lines = res.raw.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    assert.equal(lines.length, 2100);
    assert.deepEqual(
      lines.map((e) => e.metadata.i),
      Array.from({ length: 2100 }, (_, i) => i),
    );
  });

  test('palisade audit export writes the same file from the CLI', async () => {
    const file = join(dir, 'cli.ndjson');
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli.ts',
        'audit',
        'export',
        '--org',
        orgId,
        '--format',
        'ndjson',
        '--action',
        'test.nasty_value',
      ],
      {
        env: { ...process.env, DATABASE_URL: t.db.url, PALISADE_LOG_LEVEL: 'silent' },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    writeFileSync(file, stdout);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    assert.equal(lines.length, 10);
    assert.equal(lines[0]!.targets[0]!.name, '=HYPERLINK("http://evil.example","x")');
    const exported = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=audit.exported&limit=1`);
    assert.equal(exported.body.data[0].actor.type, 'system');
    assert.equal(exported.body.data[0].actor.id, 'cli');
  });

  test('run from the wrong directory, the CLI says there is no database there instead of creating an empty one', async () => {
    const missing = join(dir, 'elsewhere', 'data', 'palisade.db');
    for (const args of [
      ['audit', 'export', '--org', orgId, '--format', 'csv'],
      ['audit', 'verify', '--org', orgId],
      ['jobs', 'run', 'streams.deliver'],
      ['jobs', 'status'],
    ]) {
      const res = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
        env: { ...process.env, DATABASE_URL: `sqlite:${missing}`, PALISADE_LOG_LEVEL: 'silent' },
      }).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => err,
      );
      assert.equal(res.code, 2, args.join(' '));
      assert.match(
        res.stderr,
        /Configuration error in DATABASE_URL: there is no Palisade database at .*elsewhere.*palisade\.db/,
      );
      assert.match(res.stderr, /palisade init/);
      assert.equal(existsSync(missing), false, `${args.join(' ')} created ${missing}`);
    }
  });
});
