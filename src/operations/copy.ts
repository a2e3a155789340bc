import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { verifyChain } from '../audit/verify.js';
import { PalisadeError } from '../errors.js';
import { pgPoolOf, sqliteHandleOf } from '../db/connect.js';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type pg from 'pg';
import type { Database } from '../db/connect.js';
import { MIGRATION_NAMES, executedMigrations, migrateToLatest } from '../db/migrate.js';
import type { DB } from '../db/schema.js';

/**
 * `palisade db copy --to postgres://…`: moves an installation from embedded SQLite to PostgreSQL.
 *
 * Both engines store the same representation (ISO times as text, JSON as text, booleans as 0/1,
 * see src/db/schema.ts), so rows are copied value for value: audit chains hash the same bytes and
 * verify after the move, and encrypted content opens with the same master key. Tables are copied
 * parents first (foreign keys), in batches keyed by SQLite's rowid (or primary key); each batch and the position it
 * reached commit together in the target (`palisade_db_copy`), so an interrupted copy resumes where
 * it stopped and never writes a row twice.
 */
export interface TableProgress {
  table: string;
  copied: number;
  total: number;
}

export interface CopyReport {
  tables: TableProgress[];
  rows: number;
  ms: number;
  chains: { orgId: string; events: number; ok: boolean }[];
  resumed: boolean;
  /** Where the time went (milliseconds): schema, rows, then index builds and chain verification, which run at the same time. */
  phases: { migrate: number; load: number; indexes: number; verify: number };
}

const PROGRESS_TABLE = 'palisade_db_copy';
const INDEX_TABLE = 'palisade_db_copy_indexes';

// The copy reads and writes tables by name, outside the typed schema.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * What verifying the audit chains reads. They are copied first, so verification (hashing, in this
 * process) runs while PostgreSQL loads the other tables and builds indexes (the database's work).
 */
const CHAIN_TABLES = ['audit_events', 'audit_chain_heads', 'audit_anchors', 'audit_checkpoints', 'audit_signing_keys'];

/** Tables of the source, parents before children; the chain tables and their parents first. */
function tablesInOrder(handle: NonNullable<ReturnType<typeof sqliteHandleOf>>): string[] {
  const names = (
    handle
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' order by name",
      )
      .all() as { name: string }[]
  ).map((r) => r.name);
  const deps = new Map(
    names.map((n) => [
      n,
      (handle.prepare(`pragma foreign_key_list("${n}")`).all() as { table: string }[])
        .map((f) => f.table)
        .filter((t) => t !== n),
    ]),
  );
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (n: string) => {
    if (ordered.includes(n) || visiting.has(n)) return;
    visiting.add(n);
    for (const d of deps.get(n) ?? []) if (names.includes(d)) visit(d);
    ordered.push(n);
  };
  CHAIN_TABLES.filter((n) => names.includes(n)).forEach(visit);
  names.forEach(visit);
  return ordered;
}

/**
 * The columns a table is read in order of: its rowid, or for a table without one (WITHOUT ROWID)
 * its primary key, compared as a row value so a resumed copy starts right after the last row.
 */
function keyOf(handle: NonNullable<ReturnType<typeof sqliteHandleOf>>, table: string): string[] {
  try {
    handle.prepare(`select rowid from "${table}" limit 0`).all();
    return ['rowid'];
  } catch {
    const pk = (handle.prepare(`pragma table_info("${table}")`).all() as { name: string; pk: number }[])
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk);
    if (!pk.length) throw new Error(`table ${table} has neither a rowid nor a primary key`);
    return pk.map((c) => c.name);
  }
}

/** One CSV field: NULL is an unquoted empty field, everything else quoted (so '' stays ''). */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (Buffer.isBuffer(v)) return `"\\x${v.toString('hex')}"`;
  return `"${String(v).replace(/"/g, '""')}"`;
}

/**
 * Writes one batch with PostgreSQL's COPY (an order of magnitude faster than INSERT for bulk rows)
 * and the position it reached, in one transaction: after a crash, either both are there or neither.
 */
/** A batch as COPY's CSV text: the key columns (the first `skip` values) left out. */
function batchCsv(rows: unknown[][], skip: number): string {
  let csv = '';
  for (const r of rows) {
    for (let i = skip; i < r.length; i++) csv += (i > skip ? ',' : '') + csvField(r[i]);
    csv += '\n';
  }
  return csv;
}

/**
 * Writes one batch with PostgreSQL's COPY (an order of magnitude faster than INSERT for bulk rows)
 * and the position it reached, in one transaction: after a crash, either both are there or neither.
 */
async function copyBatch(
  pool: pg.Pool,
  table: string,
  columns: string[],
  csv: string,
  position: { last_key: string; copied: number },
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await pipeline(
      Readable.from([csv]),
      client.query(
        copyFrom(`copy "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) from stdin with (format csv)`),
      ),
    );
    await client.query(
      `insert into ${PROGRESS_TABLE} (table_name, last_key, copied) values ($1, $2, $3) on conflict (table_name) do update set last_key = excluded.last_key, copied = excluded.copied`,
      [table, position.last_key, position.copied],
    );
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export async function copyDatabase(
  source: Database,
  target: Database,
  opts: { batchRows?: number; onProgress?: (p: TableProgress) => void } = {},
): Promise<CopyReport> {
  const started = Date.now();
  const handle = sqliteHandleOf(source.db);
  if (source.dialect !== 'sqlite' || !handle)
    throw new PalisadeError(
      400,
      'copy_source_not_sqlite',
      'palisade db copy moves an embedded SQLite installation: set DATABASE_URL to the sqlite: database to copy from.',
    );
  if (target.dialect !== 'postgres')
    throw new PalisadeError(
      400,
      'copy_target_not_postgres',
      'Copy to a PostgreSQL database: --to postgres://user@host:5432/db.',
    );
  const sourceMigrations = await executedMigrations(source);
  const missing = MIGRATION_NAMES.filter((m) => !sourceMigrations.includes(m));
  if (missing.length)
    throw new PalisadeError(
      409,
      'copy_source_not_migrated',
      `The SQLite database is not at the current version (missing ${missing.join(', ')}). Run \`palisade migrate\` on it first, then copy.`,
    );
  await migrateToLatest(target);
  const phases = { migrate: Date.now() - started, load: 0, indexes: 0, verify: 0 };
  const t = target.db as AnyDb;
  await sql`create table if not exists ${sql.table(PROGRESS_TABLE)} (table_name text primary key, last_key text not null, copied bigint not null)`.execute(
    t,
  );
  const progress = new Map(
    (await t.selectFrom(PROGRESS_TABLE).selectAll().execute()).map((r) => [
      String(r.table_name),
      { lastKey: JSON.parse(String(r.last_key)) as unknown[], copied: Number(r.copied) },
    ]),
  );
  const tables = tablesInOrder(handle);
  if (progress.size === 0) {
    for (const table of tables) {
      const row = await t
        .selectFrom(table)
        .select(sql<number>`count(*)`.as('n'))
        .executeTakeFirst();
      if (Number(row?.n ?? 0) > 0)
        throw new PalisadeError(
          409,
          'copy_target_not_empty',
          `The PostgreSQL database already holds data (${table} has rows) and no copy was started there. Copy into an empty database (or schema), so nothing of another installation is mixed in.`,
        );
    }
  }
  // Like pg_restore: secondary indexes are dropped while the rows load and built once at the end
  // (maintaining six indexes row by row is most of the cost). Their definitions are kept in the
  // target, so a copy interrupted before the end still rebuilds them when it resumes.
  await sql`create table if not exists ${sql.table(INDEX_TABLE)} (name text primary key, definition text not null)`.execute(
    t,
  );
  if (progress.size === 0) {
    const indexes = await sql<{ indexname: string; indexdef: string }>`
      select i.indexname, i.indexdef from pg_indexes i
      where i.schemaname = current_schema() and i.tablename not in (${sql.lit(PROGRESS_TABLE)}, ${sql.lit(INDEX_TABLE)}, 'kysely_migration', 'kysely_migration_lock')
        and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`.execute(t);
    for (const ix of indexes.rows) {
      await t
        .insertInto(INDEX_TABLE)
        .values({ name: ix.indexname, definition: ix.indexdef })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      await sql`drop index if exists ${sql.id(ix.indexname)}`.execute(t);
    }
  }
  const pool = pgPoolOf(target.db);
  if (!pool) throw new Error('the target has no PostgreSQL pool');
  const report: TableProgress[] = [];
  // The chains were copied byte for byte: prove it on the target, by the (org_id, seq) unique
  // constraint, which stays in place during the load.
  const verifyChains = async () => {
    const t0 = Date.now();
    const heads = await (target.db as Kysely<DB>).selectFrom('audit_chain_heads').select('org_id').execute();
    const chains: CopyReport['chains'] = [];
    for (const h of heads) {
      const v = await verifyChain(target.db, h.org_id);
      chains.push({ orgId: h.org_id, events: v.eventsChecked, ok: v.ok });
    }
    phases.verify = Date.now() - t0;
    return chains;
  };
  let verification: Promise<CopyReport['chains']> | null = null;
  const mark = Date.now();
  let rows = 0;
  for (const table of tables) {
    const columns = (handle.prepare(`pragma table_info("${table}")`).all() as { name: string }[]).map((c) => c.name);
    const total = Number((handle.prepare(`select count(*) as n from "${table}"`).get() as { n: number }).n);
    const perStatement = Math.max(1, opts.batchRows ?? 10_000);
    const state = progress.get(table);
    const keyColumns = keyOf(handle, table);
    let last: unknown[] | null = state?.lastKey ?? null;
    let copied = state?.copied ?? 0;
    const select = `select ${keyColumns.map((k, i) => `"${k}" as "__k${i}"`).join(', ')}, ${columns.map((c) => `"${c}"`).join(', ')} from "${table}"`;
    const order = ` order by ${keyColumns.map((k) => `"${k}"`).join(', ')} limit ?`;
    // Raw rows (arrays): the key columns first, then the table's columns in order.
    const first = handle.prepare(select + order).raw();
    const next = handle
      .prepare(
        `${select} where (${keyColumns.map((k) => `"${k}"`).join(', ')}) > (${keyColumns.map(() => '?').join(', ')})${order}`,
      )
      .raw();
    const k = keyColumns.length;
    // Two stages overlap: while PostgreSQL takes one batch (its own process, the other core), this
    // process reads and encodes the next. Batches still commit one after another, in key order, so
    // the position stored with each is exact and a resumed copy starts right after the last commit.
    let inFlight: Promise<void> | null = null;
    let produced = copied;
    for (;;) {
      const batch = (last === null ? first.all(perStatement) : next.all(...last, perStatement)) as unknown[][];
      if (!batch.length) break;
      const lastKey = (batch[batch.length - 1] as unknown[]).slice(0, k);
      last = lastKey;
      produced += batch.length;
      const csv = batchCsv(batch, k);
      const position = { last_key: JSON.stringify(lastKey), copied: produced };
      if (inFlight) await inFlight;
      const n = batch.length;
      inFlight = copyBatch(pool, table, columns, csv, position).then(() => {
        copied += n;
        rows += n;
        opts.onProgress?.({ table, copied, total });
      });
      // Awaited before the next batch is sent; until then a failure must not count as unhandled.
      inFlight.catch(() => undefined);
    }
    if (inFlight) await inFlight;
    report.push({ table, copied, total });
    if (!verification && CHAIN_TABLES.every((c) => !tables.includes(c) || report.some((r) => r.table === c))) {
      verification = verifyChains();
      verification.catch(() => undefined); // awaited at the end
    }
  }
  phases.load = Date.now() - mark;
  const rebuildIndexes = async () => {
    const t0 = Date.now();
    for (const ix of await t.selectFrom(INDEX_TABLE).selectAll().execute()) {
      await sql
        .raw(String(ix.definition).replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '))
        .execute(t);
      await t.deleteFrom(INDEX_TABLE).where('name', '=', ix.name).execute();
    }
    phases.indexes = Date.now() - t0;
  };
  const [, chains] = await Promise.all([rebuildIndexes(), verification ?? verifyChains()]);
  return { tables: report, rows, ms: Date.now() - started, chains, resumed: progress.size > 0, phases };
}
