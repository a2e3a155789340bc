import { type Kysely, SqliteAdapter, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * What the gateway's per-process caches (src/cache/) depend on, watched by the database itself so
 * that no writer (a route, SCIM, a CLI command in another process, a raw statement) can change it
 * without the caches hearing of it:
 * - PostgreSQL: statement-level triggers call `pg_notify('palisade_cache', '{"schema":…,"table":…}')`.
 *   A notification is delivered when (and only if) the transaction commits, to every process that
 *   listens (src/cache/invalidation.ts keeps one listener connection per process).
 * - SQLite: row triggers bump the single row of `cache_epoch`; a process reads it (one prepared
 *   statement, microseconds) before trusting a cached entry. The table exists on both dialects (so
 *   `palisade db copy` finds it on both) and is empty until the first change.
 * Columns that change on every request (gateway_keys.last_used_at, users' sign-in bookkeeping) are
 * not watched, so the caches are not flushed by the traffic they serve.
 */
const WATCHED: { table: string; updateOf?: string[] }[] = [
  { table: 'gateway_keys', updateOf: ['revoked_at', 'token_hash', 'org_id', 'user_id'] },
  { table: 'users', updateOf: ['status', 'email'] },
  { table: 'memberships' },
  { table: 'organizations' },
  { table: 'workspace_settings' },
  { table: 'gateway_upstreams' },
  { table: 'audit_content_settings' },
  { table: 'org_data_keys' },
];

export async function up(db: AnyDb): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  await db.schema
    .createTable('cache_epoch')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('epoch', 'bigint', (c) => c.notNull())
    .execute();
  if (sqlite) {
    const bump = 'insert into cache_epoch (id, epoch) values (1, 1) on conflict (id) do update set epoch = epoch + 1';
    for (const w of WATCHED) {
      const events = [
        ['ins', 'insert'],
        ['upd', w.updateOf ? `update of ${w.updateOf.join(', ')}` : 'update'],
        ['del', 'delete'],
      ];
      for (const [suffix, event] of events)
        await sql
          .raw(`create trigger cache_epoch_${w.table}_${suffix} after ${event} on ${w.table} begin ${bump}; end`)
          .execute(db);
    }
    return;
  }
  await sql`create or replace function palisade_cache_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('palisade_cache', json_build_object('schema', tg_table_schema, 'table', tg_table_name)::text);
      return null;
    end $$`.execute(db);
  for (const w of WATCHED) {
    const update = w.updateOf ? `update of ${w.updateOf.join(', ')}` : 'update';
    await sql
      .raw(
        `create trigger palisade_cache_${w.table} after insert or ${update} or delete or truncate on ${w.table} for each statement execute function palisade_cache_notify()`,
      )
      .execute(db);
  }
}

export async function down(db: AnyDb): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  for (const w of WATCHED) {
    if (sqlite)
      for (const suffix of ['ins', 'upd', 'del'])
        await sql.raw(`drop trigger if exists cache_epoch_${w.table}_${suffix}`).execute(db);
    else await sql.raw(`drop trigger if exists palisade_cache_${w.table} on ${w.table}`).execute(db);
  }
  if (!sqlite) await sql`drop function if exists palisade_cache_notify()`.execute(db);
  await db.schema.dropTable('cache_epoch').ifExists().execute();
}
