import type { Compilable, InsertQueryBuilder, InsertQueryNode, InsertResult, QueryCreator } from 'kysely';
import type { Ctx } from '../context.js';
import { sqliteHandleOf } from '../db/connect.js';
import { databaseFaultOf } from '../db/faults.js';
import type { DB, Db } from '../db/schema.js';
import { isUniqueViolation } from '../db/unique.js';
import { type AuditEventInput, pendingRowsOf, recordAuditBatch } from './record.js';
import { appendsPending, auditSealerOf } from './sealer-registry.js';

/**
 * One insert of a change into any table, built on `ctx.db` and not executed:
 * `ctx.db.insertInto(table).values(rows)` (what such a builder has that is used here).
 */
export interface ChangeInsert extends Compilable<InsertResult> {
  toOperationNode(): InsertQueryNode;
}

/**
 * A change made only of new rows (inserts of fresh ids, no RETURNING) committed together with the
 * audit events that record it; answers the events' ids.
 *
 * On PostgreSQL, when events are appended for the sealer (`batched` and `background` sealing, see
 * src/audit/seal.ts), the inserts and the events go to the server as ONE statement (each insert a
 * data-modifying WITH clause of the audit insert). A statement is atomic on its own, so the change
 * and its record still commit together or not at all, at one round trip instead of BEGIN, one per
 * insert and COMMIT: on the gateway's path that was seven waits for the server, and the socket
 * writes and wake-ups of both processes that go with each (docs/performance.md). Elsewhere (SQLite,
 * where a transaction costs no round trip; `inline` sealing, which locks the chain head) it is one
 * transaction, as recordAudit does.
 *
 * A connection that died while it sat idle in the pool fails the statement without running it; the
 * driver sends again only statements that change nothing (src/db/pg-driver.ts). This one is sent
 * again here, because whether it committed can be told exactly: its first event is then either
 * pending or already sealed (the sealer moves a row from one table to the other in one
 * transaction). If it did not, it is sent once more with the same ids, so should the first attempt
 * still commit after all, the primary keys let only one of the two apply (and the loser looks again).
 */
export async function insertWithAudit(
  ctx: Pick<Ctx, 'db' | 'clock' | 'caller' | 'meta'>,
  inserts: ChangeInsert[],
  events: AuditEventInput[],
): Promise<string[]> {
  const sealer = auditSealerOf(ctx.db);
  if (!sealer || !appendsPending(sealer.mode) || sqliteHandleOf(ctx.db) || events.length === 0)
    return ctx.db.transaction().execute(async (tx) => {
      for (const insert of inserts) await tx.executeQuery(insert.compile());
      return recordAuditBatch(tx, ctx, events);
    });
  const { ids, pending } = pendingRowsOf(sealer, ctx, events);
  // The WITH clauses change the query creator's type (each adds a table name); none is read back.
  let creator = ctx.db as unknown as QueryCreator<DB>;
  inserts.forEach((insert, i) => {
    // Kysely types a WITH clause's insert by its table; any table's insert is the same node to it.
    const clause = insert as unknown as InsertQueryBuilder<DB, 'audit_pending', InsertResult>;
    creator = creator.with(`change_${i}`, () => clause) as unknown as QueryCreator<DB>;
  });
  const statement = creator.insertInto('audit_pending').values(pending);
  const firstId = ids[0] as string;
  for (let sent = 1; ; sent++) {
    try {
      await statement.execute();
      return ids;
    } catch (err) {
      // A later attempt that collides with rows of its own: an earlier one committed after all.
      if (sent > 1 && isUniqueViolation(err) && (await recorded(ctx.db, firstId))) return ids;
      if (databaseFaultOf(err)?.cause !== 'database_unreachable' || sent >= MAX_SENDS) throw err;
      // Checking draws a connection through the driver, which replaces dead ones (a read may be repeated).
      if (await recorded(ctx.db, firstId)) return ids;
    }
  }
}

/** How many times a change is sent while connections keep failing under it (then the caller gets the 503). */
const MAX_SENDS = 3;

/** Whether an event is in the database: pending, or already sealed (one statement, so one snapshot of both tables). */
async function recorded(db: Db, eventId: string): Promise<boolean> {
  const found = await db
    .selectFrom('audit_pending')
    .select('id')
    .where('id', '=', eventId)
    .unionAll(db.selectFrom('audit_events').select('id').where('id', '=', eventId))
    .executeTakeFirst();
  return found !== undefined;
}
