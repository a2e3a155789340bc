import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Concurrency guarantees held by the schema rather than by luck:
 * - `audit_signing_keys_one_active`: at most one active checkpoint signing key. Before this index,
 *   simultaneous first checkpoints could each create one. Existing duplicates are resolved first,
 *   deterministically: the newest active key (created_at, then kid) stays active; the others are
 *   retired as of its creation. Retired keys stay published, so checkpoints they signed still verify.
 */
export async function up(db: AnyDb): Promise<void> {
  const newest = sql`(select k.kid from audit_signing_keys k where k.status = 'active' order by k.created_at desc, k.kid desc limit 1)`;
  const newestAt = sql`(select k.created_at from audit_signing_keys k where k.status = 'active' order by k.created_at desc, k.kid desc limit 1)`;
  await sql`update audit_signing_keys set status = 'retired', retired_at = ${newestAt} where status = 'active' and kid <> ${newest}`.execute(
    db,
  );
  await sql`create unique index audit_signing_keys_one_active on audit_signing_keys (status) where status = 'active'`.execute(
    db,
  );
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('audit_signing_keys_one_active').ifExists().execute();
}
