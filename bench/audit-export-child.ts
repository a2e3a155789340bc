/**
 * One export in a process of its own, so its peak RSS is the export's and not the benchmark's
 * (which holds the generated events): `node --import tsx bench/audit-export-child.ts <DATABASE_URL>
 * <orgId> <upToSeq> <csv|ndjson|bare>`. Prints one JSON line: events, seconds, bytes, the RSS at rest
 * before the export (restMb: Node, the tsx loader, the modules) and the peak (maxRssMb).
 * `bare` is the reference: the same rows in the same pages straight from the driver, written as
 * quoted CSV with nothing but quoting per value.
 */
import { exportPages, serializePages } from '../src/audit/export.js';
import { openDatabase, pgPoolOf, sqliteHandleOf } from '../src/db/connect.js';

const [url, orgId, upTo, mode] = process.argv.slice(2) as [string, string, string, 'csv' | 'ndjson' | 'bare'];
const upToSeq = Number(upTo);
const database = await openDatabase(url);
const restMb = process.memoryUsage().rss / 1048576;
const t0 = process.hrtime.bigint();
let n = 0;
let bytes = 0;
if (mode === 'bare') {
  const quote = (v: unknown) => (v === null ? '' : `"${String(v).replace(/"/g, '""')}"`);
  const text = 'select * from audit_events where org_id = $1 and seq > $2 and seq <= $3 order by seq limit 1000';
  const stmt = sqliteHandleOf(database.db)?.prepare(text.replace(/\$\d/g, '?')).raw();
  const pool = pgPoolOf(database.db);
  let after = 0;
  for (;;) {
    const rows: unknown[][] = stmt
      ? (stmt.all(orgId, after, upToSeq) as unknown[][])
      : (await pool!.query({ text, values: [orgId, after, upToSeq], rowMode: 'array' })).rows;
    let buf = '';
    for (const r of rows) buf += `${r.map(quote).join(',')}\n`;
    bytes += Buffer.byteLength(buf);
    n += rows.length;
    if (rows.length < 1000) break;
    after = Number((rows[rows.length - 1] as unknown[])[2]);
  }
} else {
  async function* counted() {
    for await (const page of exportPages(database.db, { orgId, query: {}, upToSeq })) {
      n += page.length;
      yield page;
    }
  }
  for await (const chunk of serializePages(counted(), mode)) bytes += Buffer.byteLength(chunk);
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
await database.close();
console.log(JSON.stringify({ events: n, seconds, bytes, restMb, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
