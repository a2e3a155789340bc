import { type Kysely, SqliteAdapter, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * PostgreSQL: a new row in `users` or `memberships` names the people it is about. Until now any
 * insert into either table notified "users changed" / "memberships changed", and every cached value
 * that had read the table was dropped in every process: during a SCIM sync (a user and a membership
 * per person created) the gateway's caches of everyone's key and access were empty all the time.
 *
 * A cached value reads these tables only for people who already have the rows it needs (a key's
 * owner, a member's memberships in an organization's lineage; a value built from a missing row is a
 * refusal, never cached), and a new membership can only add a role (src/orgs/authorize.ts,
 * highestRole). So an insert changes only the values about the people it names: the insert trigger
 * sends their ids (`users`: ids of new users, or of the people new memberships belong to), and
 * src/cache/invalidation.ts moves only those people's counters. More than 50 people in one
 * statement, or any update, delete or truncate, still notifies the whole table.
 *
 * Expand-only: the previous release reads the table name of the payload and ignores `users`, so it
 * still drops every value that read the table, as before. SQLite keeps its one epoch.
 */
const BY_USER: { table: string; userColumn: string; updateOf?: string[] }[] = [
  { table: 'users', userColumn: 'id', updateOf: ['status', 'email'] },
  { table: 'memberships', userColumn: 'user_id' },
];

export async function up(db: AnyDb): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) return;
  for (const w of BY_USER) {
    await sql
      .raw(
        `create or replace function palisade_cache_notify_inserted_${w.table}() returns trigger language plpgsql as $$
          declare people json;
          begin
            select case when count(*) <= 50 then json_agg(distinct ${w.userColumn}) end into people from inserted;
            perform pg_notify('palisade_cache', json_build_object('schema', tg_table_schema, 'table', tg_table_name, 'users', people)::text);
            return null;
          end $$`,
      )
      .execute(db);
    const update = w.updateOf ? `update of ${w.updateOf.join(', ')}` : 'update';
    await sql.raw(`drop trigger if exists palisade_cache_${w.table} on ${w.table}`).execute(db);
    await sql
      .raw(
        `create trigger palisade_cache_${w.table} after ${update} or delete or truncate on ${w.table} for each statement execute function palisade_cache_notify()`,
      )
      .execute(db);
    await sql
      .raw(
        `create trigger palisade_cache_${w.table}_insert after insert on ${w.table} referencing new table as inserted for each statement execute function palisade_cache_notify_inserted_${w.table}()`,
      )
      .execute(db);
  }
}

export async function down(db: AnyDb): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) return;
  for (const w of BY_USER) {
    const update = w.updateOf ? `update of ${w.updateOf.join(', ')}` : 'update';
    await sql.raw(`drop trigger if exists palisade_cache_${w.table}_insert on ${w.table}`).execute(db);
    await sql.raw(`drop trigger if exists palisade_cache_${w.table} on ${w.table}`).execute(db);
    await sql
      .raw(
        `create trigger palisade_cache_${w.table} after insert or ${update} or delete or truncate on ${w.table} for each statement execute function palisade_cache_notify()`,
      )
      .execute(db);
    await sql.raw(`drop function if exists palisade_cache_notify_inserted_${w.table}()`).execute(db);
  }
}
