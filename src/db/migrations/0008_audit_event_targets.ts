import { type Kysely, SqliteAdapter, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

const BACKFILL_BATCH = 5000;

/**
 * The distinct target ids in stored targets JSON; malformed JSON names none (it is never fatal).
 * A copy of `targetIdsOf` (src/audit/event.ts) as it was when this migration was written: a
 * migration is history and must backfill the same rows whatever the live code becomes.
 */
function targetIdsOf(json: string): string[] {
  try {
    const parsed: unknown = JSON.parse(json);
    if (!Array.isArray(parsed)) return [];
    const ids = parsed
      .map((t) => (t && typeof t === 'object' ? (t as { id?: unknown }).id : undefined))
      .filter((id): id is string => typeof id === 'string' && id.length > 0);
    return [...new Set(ids)];
  } catch {
    return [];
  }
}

/**
 * The ids each audit event names as a target, one row per (event, target id): the target filter of
 * search and export reads this index instead of scanning the events' JSON. Keyed like the search
 * order (time, then event id), so one page of a target's events is one index range read newest
 * first, and a purged event's rows are found by their full key.
 */
export async function up(db: AnyDb): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  // WITHOUT ROWID on SQLite: the rows are the key, so one B-tree holds them.
  await sql`create table audit_event_targets (
    org_id text not null,
    target_id text not null,
    occurred_at text not null,
    event_id text not null,
    primary key (org_id, target_id, occurred_at, event_id)
  )${sqlite ? sql` without rowid` : sql``}`.execute(db);

  // Backfill from events already stored, one chain at a time in seq batches: each batch is one
  // range of the (org_id, seq) index, so a large log migrates in bounded memory and linear time.
  const chains = (await db.selectFrom('audit_events').select('org_id').distinct().execute()) as { org_id: string }[];
  for (const { org_id: orgId } of chains) {
    let after = 0;
    for (;;) {
      const rows = (await db
        .selectFrom('audit_events')
        .select(['seq', 'id', 'occurred_at', 'targets'])
        .where('org_id', '=', orgId)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(BACKFILL_BATCH)
        .execute()) as { seq: number | string; id: string; occurred_at: string; targets: string }[];
      if (rows.length === 0) break;
      const values = rows.flatMap((r) =>
        targetIdsOf(r.targets).map((id) => ({
          org_id: orgId,
          target_id: id,
          occurred_at: r.occurred_at,
          event_id: r.id,
        })),
      );
      for (let i = 0; i < values.length; i += 500)
        await db
          .insertInto('audit_event_targets')
          .values(values.slice(i, i + 500))
          .execute();
      after = Number((rows[rows.length - 1] as { seq: number | string }).seq);
    }
  }
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('audit_event_targets').ifExists().execute();
}
