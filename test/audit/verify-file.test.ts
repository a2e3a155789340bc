import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { AuditEvent } from '../../src/audit/event.js';
import { recordAuditBatch } from '../../src/audit/record.js';
import { type FileVerification, readExport, verifyExportFile } from '../../src/audit/verify-file.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { testAction } from '../helpers/audit-actions.js';

const run = promisify(execFile);
const KINDS = new Set([
  'edited',
  'dropped',
  'inserted',
  'reordered',
  'truncated',
  'checkpoint_mismatch',
  'invalid_checkpoint',
  'unreadable',
]);

/** Exports that were cut, hand-edited or are not exports at all: every record is named, nothing throws. */
describe('offline verification of damaged or foreign files', () => {
  let t: TestApp;
  let dir: string;
  let files: Record<'ndjson' | 'json' | 'csv', string>;
  let events: AuditEvent[];
  let checkpoints: { checkpoints: unknown[]; keys: unknown[] };

  before(async () => {
    t = await createTestApp();
    dir = mkdtempSync(join(tmpdir(), 'palisade-verify-file-'));
    const { orgId, owner } = await t.seedOrg('Damaged', 'owner@damaged.example');
    await t.db.database.db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        t.system,
        Array.from({ length: 12 }, (_, i) => ({
          orgId,
          action: testAction('test.happened'),
          targets: [{ type: 'user', id: `usr_${i}`, name: `=cmd|' /C calc'!A${i}` }],
          metadata: { i, note: 'comma, "quote"\nnewline' },
        })),
      ),
    );
    await createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config }).runNow('audit.checkpoint');
    files = { ndjson: '', json: '', csv: '' };
    for (const format of ['ndjson', 'json', 'csv'] as const)
      files[format] = (await owner.get(`/api/v1/orgs/${orgId}/audit-events/export?format=${format}`)).raw.body;
    checkpoints = (await owner.get(`/api/v1/orgs/${orgId}/audit-checkpoints`)).body;
    events = readExport(files.ndjson).events;
    assert.ok(events.length >= 13);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  const verify = (text: string, cps: unknown[] = checkpoints.checkpoints): FileVerification =>
    verifyExportFile(text, cps, checkpoints.keys);
  const summary = (r: FileVerification) => r.problems.map((p) => `${p.kind}@${p.position}`);

  test('every intact format verifies', () => {
    for (const [format, text] of Object.entries(files)) assert.deepEqual(verify(text).problems, [], format);
  });

  test('an NDJSON line cut in half is named by its line, and the chain check names the gap it leaves', () => {
    const lines = files.ndjson.split('\n');
    lines[4] = (lines[4] as string).slice(0, 40);
    const r = verify(lines.join('\n'));
    assert.equal(r.ok, false);
    assert.deepEqual(summary(r).slice(0, 2), ['unreadable@5', 'dropped@6']);
    assert.match(r.problems[0]!.explanation, /^Line 5 is not valid JSON/);
  });

  test('a record of the wrong shape names the field; a JSON array cut short is one clear problem', () => {
    const lines = files.ndjson.split('\n');
    lines[2] = JSON.stringify({ ...JSON.parse(lines[2] as string), seq: 'three' });
    lines[3] = '42';
    const r = verify(lines.join('\n'));
    assert.match(r.problems.find((p) => p.position === 3)!.explanation, /^Line 3 is not an audit event \(\/seq: /);
    assert.match(r.problems.find((p) => p.position === 4)!.explanation, /^Line 4 is not an audit event/);
    const cut = verify(files.json.slice(0, files.json.length / 2));
    assert.deepEqual(summary(cut), ['unreadable@null']);
    assert.match(cut.problems[0]!.explanation, /JSON array but is not valid JSON/);
  });

  test('a CSV cell edited into something unreadable, and a CSV with a renamed column, are named', () => {
    const rows = files.csv.split('\n');
    rows[3] = (rows[3] as string).replace(/"\[\{.*?\}\]"/, '"[{broken"');
    const r = verify(rows.join('\n'));
    assert.equal(r.problems[0]!.kind, 'unreadable');
    assert.equal(r.problems[0]!.position, 3);
    const renamed = verify(files.csv.replace('"prevHash"', '"previous"'));
    assert.deepEqual(summary(renamed), ['unreadable@null']);
    assert.match(renamed.problems[0]!.explanation, /lacks the column\(s\) prevHash/);
  });

  test('malformed checkpoints are invalid_checkpoint problems, not crashes', () => {
    const [good] = checkpoints.checkpoints as { id: string; payload: Record<string, unknown>; signature: string }[];
    const r = verify(files.ndjson, [
      {},
      null,
      { ...good, payload: { ...good!.payload, kid: 'not-a-key' } },
      { ...good, signature: '%%%' },
    ]);
    assert.deepEqual(
      r.problems.map((p) => p.kind),
      ['invalid_checkpoint', 'invalid_checkpoint', 'invalid_checkpoint', 'invalid_checkpoint'],
    );
    const badKey = verifyExportFile(files.ndjson, checkpoints.checkpoints, [
      { kid: (good!.payload as { kid: string }).kid, x: '!' },
    ]);
    assert.equal(badKey.ok, false);
    assert.match(badKey.problems[0]!.explanation, /could not be checked|invalid signature/);
  });

  test('fuzz: 1,500 random damages never throw, and a file verifies only if it still carries exactly the exported events', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const alphabet = ['"', ',', '\n', '{', '}', '[', ']', '\\', '0', 'a', ' ', '\r', ':', '\u00e9', "'"];
    let caught = 0;
    for (let i = 0; i < 1500; i++) {
      const format = (['ndjson', 'json', 'csv'] as const)[i % 3]!;
      let text = files[format];
      for (let k = 0, n = 1 + rand(3); k < n; k++) {
        const at = rand(text.length);
        const op = rand(4);
        if (op === 0) text = text.slice(0, at) + text.slice(at + 1 + rand(20));
        else if (op === 1) text = text.slice(0, at) + alphabet[rand(alphabet.length)] + text.slice(at);
        else if (op === 2) text = text.slice(0, at) + String.fromCharCode(32 + rand(90)) + text.slice(at + 1);
        else text = text.slice(0, at);
      }
      let r: FileVerification;
      try {
        r = verify(text);
      } catch (err) {
        assert.fail(`damage #${i} (${format}) threw ${String(err)}:\n${text.slice(0, 300)}`);
      }
      for (const p of r.problems) assert.ok(KINDS.has(p.kind) && p.explanation.length > 10, JSON.stringify(p));
      if (r.ok)
        assert.deepEqual(readExport(text).events, events, `damage #${i} (${format}) verified but changed the events`);
      else caught++;
    }
    assert.ok(caught > 1300, `most damages are caught (${caught})`);
  });

  test('the CLI names an unreadable line and a checkpoints file that is not JSON', async () => {
    const cli = async (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'audit', 'verify', ...args], {
        env: { ...process.env, PALISADE_LOG_LEVEL: 'silent' },
      }).then(
        ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
        (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }),
      );
    const lines = files.ndjson.split('\n');
    lines[1] = '{"id": "evt_';
    const file = join(dir, 'cut.ndjson');
    writeFileSync(file, lines.join('\n'));
    const cps = join(dir, 'cps.json');
    writeFileSync(cps, JSON.stringify(checkpoints));
    const cut = await cli('--file', file, '--checkpoints', cps);
    assert.equal(cut.code, 1, cut.out);
    assert.match(cut.out, /UNREADABLE \(record 2\): Line 2 is not valid JSON/);
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, 'checkpoints: yes');
    const refused = await cli('--file', file, '--checkpoints', notJson);
    assert.equal(refused.code, 2);
    assert.match(
      refused.out,
      /--checkpoints .*not\.json cannot be read as JSON .*it should be the JSON of GET \/api\/v1\/orgs\/ID\/audit-checkpoints/,
    );
  });
});
