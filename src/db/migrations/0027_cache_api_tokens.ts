import { type Kysely, SqliteAdapter, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Personal API tokens join the per-process caches (src/cache/, migration 0023): a script's token is
 * looked up on every request. Creating, revoking or re-hashing a token (and a change of its owner or
 * expiry) empties the caches as 0023's triggers do; `last_used_at`, written at most once a minute
 * per token, is not watched, so the traffic a token serves does not flush what it reads.
 * Expand-only: the previous release ignores the triggers (they only bump an epoch or notify).
 */
const UPDATE_OF = ['revoked_at', 'token_hash', 'user_id', 'expires_at'];

export async function up(db: AnyDb): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    const bump = 'insert into cache_epoch (id, epoch) values (1, 1) on conflict (id) do update set epoch = epoch + 1';
    for (const [suffix, event] of [
      ['ins', 'insert'],
      ['upd', `update of ${UPDATE_OF.join(', ')}`],
      ['del', 'delete'],
    ])
      await sql
        .raw(`create trigger cache_epoch_api_tokens_${suffix} after ${event} on api_tokens begin ${bump}; end`)
        .execute(db);
    return;
  }
  // palisade_cache_notify() is 0023's.
  await sql
    .raw(
      `create trigger palisade_cache_api_tokens after insert or update of ${UPDATE_OF.join(', ')} or delete or truncate on api_tokens for each statement execute function palisade_cache_notify()`,
    )
    .execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    for (const suffix of ['ins', 'upd', 'del'])
      await sql.raw(`drop trigger if exists cache_epoch_api_tokens_${suffix}`).execute(db);
    return;
  }
  await sql.raw('drop trigger if exists palisade_cache_api_tokens on api_tokens').execute(db);
}
