import { type Kysely, SqliteAdapter, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Personal API tokens and SCIM tokens (with their directories) join the per-process caches
 * (src/cache/, migration 0023): a script's token and an identity provider's are looked up on every
 * request. Creating, revoking or re-hashing a token (and a change of its owner, directory or expiry)
 * and any change to a directory empty the caches as 0023's triggers do; `last_used_at`, written at
 * most once a minute per token, is not watched, so the traffic a token serves does not flush what
 * it reads. Expand-only: the previous release ignores the triggers (they only bump an epoch or notify).
 */
const WATCHED: { table: string; updateOf?: string[] }[] = [
  { table: 'api_tokens', updateOf: ['revoked_at', 'token_hash', 'user_id', 'expires_at'] },
  { table: 'scim_tokens', updateOf: ['revoked_at', 'token_hash', 'directory_id', 'expires_at'] },
  { table: 'scim_directories' },
];

export async function up(db: AnyDb): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  const bump = 'insert into cache_epoch (id, epoch) values (1, 1) on conflict (id) do update set epoch = epoch + 1';
  for (const w of WATCHED) {
    const update = w.updateOf ? `update of ${w.updateOf.join(', ')}` : 'update';
    if (sqlite) {
      for (const [suffix, event] of [
        ['ins', 'insert'],
        ['upd', update],
        ['del', 'delete'],
      ])
        await sql
          .raw(`create trigger cache_epoch_${w.table}_${suffix} after ${event} on ${w.table} begin ${bump}; end`)
          .execute(db);
    } else {
      // palisade_cache_notify() is 0023's.
      await sql
        .raw(
          `create trigger palisade_cache_${w.table} after insert or ${update} or delete or truncate on ${w.table} for each statement execute function palisade_cache_notify()`,
        )
        .execute(db);
    }
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
}
