/**
 * `palisade db copy` at installation size: 1M audit events (through the real write path, so the
 * chains are real) and 10k conversations with 5 messages each, copied from SQLite into an empty
 * PostgreSQL schema, beside the raw limit: PostgreSQL's own COPY of the same audit rows from a CSV.
 * Goal (issue 19): the whole copy under 2 minutes. BENCH_COPY_EVENTS and BENCH_COPY_CONVERSATIONS
 * scale it down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { from } from 'pg-copy-streams';
import { recordAuditBatch } from '../src/audit/record.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import type { Ctx } from '../src/context.js';
import { dropPostgresSchema, openDatabase, sqliteHandleOf } from '../src/db/connect.js';
import { copyDatabase } from '../src/operations/copy.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { testAction } from '../test/helpers/audit-actions.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const EVENTS = Number(process.env.BENCH_COPY_EVENTS ?? 1_000_000);
const CONVERSATIONS = Number(process.env.BENCH_COPY_CONVERSATIONS ?? 10_000);

export async function benchDbCopy(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-copy-'));
  const source = await openDatabase(`sqlite:${join(dir, 'source.db')}`);
  const schema = `bench_copy_${randomBytes(3).toString('hex')}`;
  const target = await openDatabase(PG_URL, { pgSchema: schema });
  try {
    await migrateToLatest(source);
    const at = new Date().toISOString();
    const h = sqliteHandleOf(source.db)!;
    h.prepare(
      'insert into organizations (id, parent_id, name, billing_email, status, created_at, updated_at, deleted_at) values (?, null, ?, null, ?, ?, ?, null)',
    ).run('org_bench', 'Bench', 'active', at, at);
    h.prepare(
      'insert into users (id, email, display_name, password_hash, status, created_at, updated_at) values (?, ?, null, null, ?, ?, ?)',
    ).run('usr_bench', 'bench@bench.example', 'active', at, at);
    const ctx: Ctx = {
      db: source.db,
      clock: systemClock,
      config: loadConfig({}),
      caller: { kind: 'system', name: 'bench' },
      meta: { requestId: 'req_bench', ip: '127.0.0.1', userAgent: 'bench' },
    };
    const t0 = Date.now();
    for (let i = 0; i < EVENTS; i += 1000) {
      const n = Math.min(1000, EVENTS - i);
      await source.db.transaction().execute((tx) =>
        recordAuditBatch(
          tx,
          ctx,
          Array.from({ length: n }, (_, k) => ({
            orgId: 'org_bench',
            action: 'gateway.request_handled',
            targets: [{ type: 'user', id: `usr_${(i + k) % 5000}` }],
            metadata: { model: 'claude', inputTokens: 1200, outputTokens: 300 },
          })),
        ),
      );
    }
    const conv = h.prepare(
      "insert into workspace_conversations (id, org_id, user_id, source, title_ct, key_version, retention_days, created_at, updated_at, last_message_at) values (?, 'org_bench', 'usr_bench', 'workspace', ?, 1, null, ?, ?, ?)",
    );
    const msg = h.prepare(
      "insert into workspace_messages (id, org_id, conversation_id, role, content_ct, key_version, size_bytes, model, input_tokens, output_tokens, created_at) values (?, 'org_bench', ?, 'user', ?, 1, 600, 'claude', 10, 10, ?)",
    );
    const body = randomBytes(450).toString('base64');
    h.transaction(() => {
      for (let c = 0; c < CONVERSATIONS; c++) {
        const id = `cnv_${String(c).padStart(10, '0')}`;
        conv.run(id, body.slice(0, 60), at, at, at);
        for (let m = 0; m < 5; m++) msg.run(`msg_${String(c * 5 + m).padStart(12, '0')}`, id, body, at);
      }
    })();
    console.log(
      `\n== db copy (SQLite → PostgreSQL): ${EVENTS.toLocaleString()} audit events, ${CONVERSATIONS.toLocaleString()} conversations (${(CONVERSATIONS * 5).toLocaleString()} messages); data made in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const r = await copyDatabase(source, target);
    const copyS = r.ms / 1000;
    console.log(
      `palisade db copy: ${r.rows.toLocaleString()} rows in ${copyS.toFixed(1)} s (${Math.round(r.rows / copyS).toLocaleString()} rows/s, chains verified inside that time: ${r.chains.every((c) => c.ok) ? 'all ok' : 'FAILED'}) · goal < 120 s`,
    );
    console.log(
      `  phases: schema ${(r.phases.migrate / 1000).toFixed(1)} s, rows ${(r.phases.load / 1000).toFixed(1)} s, indexes ${(r.phases.indexes / 1000).toFixed(1)} s, chain verification ${(r.phases.verify / 1000).toFixed(1)} s (these two overlap)`,
    );
    // Raw limit: PostgreSQL's COPY of the same audit rows from text into a table with the same
    // indexes, built after the load as the copy does, in the same run.
    const rows = h.prepare('select * from audit_events').raw().all() as unknown[][];
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`set search_path = ${schema}`);
    await client.query('create temp table raw_copy (like audit_events including defaults including constraints)');
    const csv = rows
      .map((row) => row.map((v) => (v === null ? '' : `"${String(v).replace(/"/g, '""')}"`)).join(','))
      .join('\n');
    const t1 = Date.now();
    {
      const stream = client.query(from('copy raw_copy from stdin with (format csv)'));
      await new Promise<void>((resolve, reject) => {
        stream.on('finish', () => resolve());
        stream.on('error', reject);
        stream.end(csv);
      });
      for (const [i, cols] of [
        'org_id, seq',
        'org_id, occurred_at, id',
        'org_id, actor_id, occurred_at',
        'org_id, action, occurred_at',
        'org_id, actor_ip, occurred_at',
        'org_id, outcome, occurred_at',
      ].entries())
        await client.query(`create index raw_copy_${i} on raw_copy (${cols})`);
      const rawS = (Date.now() - t1) / 1000;
      console.log(
        `raw PostgreSQL COPY of the audit rows, then 6 indexes: ${rows.length.toLocaleString()} in ${rawS.toFixed(1)} s (${Math.round(rows.length / rawS).toLocaleString()} rows/s)`,
      );
    }
    await client.end();
  } finally {
    await source.close();
    await target.close();
    await dropPostgresSchema(PG_URL, schema);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchDbCopy();
