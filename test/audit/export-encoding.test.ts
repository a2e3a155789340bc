/**
 * The export writes stored rows straight to lines (src/audit/export.ts) instead of building event
 * objects and serializing them. These tests hold the fast encoders to the reference path they
 * replaced — JSON.stringify(eventFromRow(row)) and csv-stringify of eventToCsvRecord — on hostile
 * values, and prove the one documented difference (integer-like keys keep canonical order) still
 * verifies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { recordAuditBatch } from '../../src/audit/record.js';
import { eventFromRow, hashedContent, chainHash } from '../../src/audit/event.js';
import {
  CSV_COLUMNS,
  CSV_PARSE_OPTIONS,
  eventFromCsvRecord,
  eventToCsvRecord,
  exportPages,
  rowToCsvLine,
  rowToJson,
  serializePages,
} from '../../src/audit/export.js';
import type { AuditEventRow } from '../../src/db/schema.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { testAction } from '../helpers/audit-actions.js';

describe('audit export encoders', () => {
  let t: TestApp;
  let orgId: string;
  let rows: AuditEventRow[];
  before(async () => {
    t = await createTestApp();
    ({ orgId } = await t.seedOrg('Encoder', 'owner@encoder.example'));
    const values = [
      '=HYPERLINK("http://evil.example","x")',
      '+1',
      '@SUM(A1)',
      '\tTab',
      "'quoted",
      'a,b "c"\nnext line\r\n',
      'ünïcødé ✓ \u2028 \u0000 \\ </script>',
      '',
    ];
    await t.db.database.db.transaction().execute((tx) =>
      recordAuditBatch(
        tx,
        { ...t.system, meta: { requestId: 'req_"enc"', ip: null, userAgent: '"agent", =1' } },
        values.map((v, i) => ({
          orgId,
          action: testAction('test.encoded'),
          targets: [{ type: 'thing', id: `thg_${i}`, name: v }],
          metadata: {
            v,
            n: i,
            f: i / 3,
            big: 2 ** 53 - 1,
            neg: -0.5e-7,
            list: [v, null, true],
            nested: { z: v, a: 1 },
          },
          outcome: i % 2 ? 'failure' : 'success',
        })),
      ),
    );
    await t.sealAudit();
    rows = await t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('seq')
      .execute();
    assert.ok(rows.length >= values.length);
  });
  after(() => t.close());

  test('each JSON line is exactly JSON.stringify of the event object', () => {
    for (const row of rows) assert.equal(rowToJson(row), JSON.stringify(eventFromRow(row)));
  });

  test('each CSV line is exactly csv-stringify of the CSV record, and reads back to the event', () => {
    for (const row of rows) {
      const line = rowToCsvLine(row);
      assert.equal(line, stringify([eventToCsvRecord(eventFromRow(row))], { quoted_string: true }));
      const [record] = parse(`${CSV_COLUMNS.join(',')}\n${line}`, CSV_PARSE_OPTIONS) as Record<string, string | null>[];
      assert.deepEqual(eventFromCsvRecord(record!), eventFromRow(row));
    }
  });

  test('integer-like keys keep their canonical order, and the line still verifies', async () => {
    await t.db.database.db
      .transaction()
      .execute((tx) =>
        recordAuditBatch(tx, t.system, [
          { orgId, action: testAction('test.encoded'), metadata: { '10': 'ten', '2': 'two', a: 'x' } },
        ]),
      );
    await t.sealAudit();
    const row = await t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    const line = rowToJson(row);
    assert.ok(line.includes('"metadata":{"10":"ten","2":"two","a":"x"}'), line);
    const e = JSON.parse(line) as ReturnType<typeof eventFromRow>;
    assert.deepEqual(e, eventFromRow(row));
    assert.equal(chainHash(e.prevHash, hashedContent(e)), e.hash);
  });

  test('the serialized formats hold every row once, in chain order, and parse', async () => {
    const head = Number(rows[rows.length - 1]!.seq) + 1;
    const sel = { orgId, query: {}, upToSeq: head };
    const text = async (format: 'csv' | 'ndjson' | 'json') => {
      let out = '';
      for await (const chunk of serializePages(exportPages(t.db.database.db, sel), format)) out += chunk;
      return out;
    };
    const ndjson = (await text('ndjson'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number });
    const json = JSON.parse(await text('json')) as { seq: number }[];
    const csv = parse(await text('csv'), CSV_PARSE_OPTIONS) as Record<string, string | null>[];
    assert.equal(ndjson.length, rows.length + 1);
    assert.deepEqual(json, ndjson);
    assert.deepEqual(
      csv.map((r) => Number(r.seq)),
      ndjson.map((e) => e.seq),
    );
    assert.deepEqual(
      ndjson.map((e) => e.seq),
      [...ndjson.map((e) => e.seq)].sort((a, b) => a - b),
    );
    const empty = JSON.parse(
      await (async () => {
        let out = '';
        for await (const c of serializePages(exportPages(t.db.database.db, { ...sel, upToSeq: 0 }), 'json')) out += c;
        return out;
      })(),
    ) as unknown[];
    assert.deepEqual(empty, []);
  });
});
