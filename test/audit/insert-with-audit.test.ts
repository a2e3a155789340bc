import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { type ChangeInsert, insertWithAudit } from '../../src/audit/insert-with-audit.js';
import { auditSealerOf } from '../../src/audit/sealer-registry.js';
import { verifyChain } from '../../src/audit/verify.js';
import type { Ctx } from '../../src/context.js';
import { newContentKey } from '../../src/crypto/content-keys.js';
import { currentDataKey } from '../../src/crypto/data-keys.js';
import { dropPostgresSchema, openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { newId } from '../../src/ids.js';
import { PG_URL, TEST_DIALECT } from '../helpers/db.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { type Relay, startRelay } from '../helpers/pg-relay.js';

/**
 * insertWithAudit (src/audit/insert-with-audit.ts): a change made of new rows and its audit event
 * commit together or not at all, in every sealing mode (one statement on PostgreSQL when events are
 * appended for the sealer, one transaction otherwise), and a statement whose connection was lost is
 * recorded exactly once: sent again when it did not run, not sent again when it committed and only
 * its answer was lost.
 */

/** A gateway-style change: a content key and a conversation that uses it. */
async function conversationChange(ctx: Ctx, orgId: string, userId: string, conversationId = newId('cnv', new Date())) {
  const now = ctx.clock.now();
  const at = now.toISOString();
  const { key, row } = newContentKey(await currentDataKey(ctx.db, ctx.config, orgId, now), orgId, now);
  const inserts: ChangeInsert[] = [
    ctx.db.insertInto('content_keys').values(row),
    ctx.db.insertInto('workspace_conversations').values({
      id: conversationId,
      org_id: orgId,
      user_id: userId,
      source: 'gateway',
      title_ct: null,
      key_version: null,
      content_key_id: key.id,
      retention_days: null,
      created_at: at,
      updated_at: at,
      last_message_at: at,
    }),
  ];
  const event = {
    orgId,
    action: 'conversation.created' as const,
    targets: [{ type: 'conversation', id: conversationId }],
    metadata: { titleBytes: 0 },
  };
  return { inserts, event, conversationId, contentKeyId: key.id };
}

async function ownerId(t: TestApp, email: string): Promise<string> {
  return (await t.db.database.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow())
    .id;
}

/**
 * Where an event is: pending, sealed, or both (which must never be). One statement, so one snapshot of both
 * tables: the background sealer moves a row from one to the other in one transaction, and two
 * separate reads could see it in both (CI did once).
 */
async function placesOf(t: TestApp, eventId: string): Promise<string[]> {
  const db = t.db.database.db;
  const rows = await db
    .selectFrom('audit_pending')
    .select(sql<string>`'pending'`.as('place'))
    .where('id', '=', eventId)
    .unionAll(
      db
        .selectFrom('audit_events')
        .select(sql<string>`'sealed'`.as('place'))
        .where('id', '=', eventId),
    )
    .execute();
  return rows.map((r) => r.place).sort();
}

const MODES =
  TEST_DIALECT === 'postgres' ? (['inline', 'batched', 'background'] as const) : (['inline', 'batched'] as const);

for (const mode of MODES)
  describe(`insertWithAudit (${mode} sealing)`, () => {
    let t: TestApp;
    let orgId: string;
    let userId: string;
    before(async () => {
      t = await createTestApp({ auditSealing: mode });
      ({ orgId } = await t.seedOrg('Together', 'owner@together.example'));
      userId = await ownerId(t, 'owner@together.example');
    });
    after(() => t.close());

    test('the change and its event commit together; the chain verifies', async () => {
      assert.equal(auditSealerOf(t.db.database.db)?.mode, mode);
      const change = await conversationChange(t.system, orgId, userId);
      const [eventId] = await insertWithAudit(t.system, change.inserts, [change.event]);
      assert.ok(eventId);
      const row = await t.db.database.db
        .selectFrom('workspace_conversations')
        .select(['id', 'content_key_id'])
        .where('id', '=', change.conversationId)
        .executeTakeFirst();
      assert.equal(row?.content_key_id, change.contentKeyId);
      assert.equal((await placesOf(t, eventId)).length, 1, 'the event was written once');
      await t.sealAudit();
      const sealed = await t.db.database.db
        .selectFrom('audit_events')
        .select(['action', 'targets'])
        .where('id', '=', eventId)
        .executeTakeFirstOrThrow();
      assert.equal(sealed.action, 'conversation.created');
      assert.match(sealed.targets, new RegExp(change.conversationId));
      assert.equal((await verifyChain(t.db.database.db, orgId)).ok, true);
    });

    test('when one insert fails, nothing of the change and no event is written', async () => {
      const first = await conversationChange(t.system, orgId, userId);
      await insertWithAudit(t.system, first.inserts, [first.event]);
      await t.sealAudit();
      const eventsBefore = await countEvents(t, orgId);
      // The same conversation id again: the second insert violates the primary key.
      const again = await conversationChange(t.system, orgId, userId, first.conversationId);
      await assert.rejects(insertWithAudit(t.system, again.inserts, [again.event]));
      const key = await t.db.database.db
        .selectFrom('content_keys')
        .select('id')
        .where('id', '=', again.contentKeyId)
        .executeTakeFirst();
      assert.equal(key, undefined, 'the content key of the failed change was not kept');
      await t.sealAudit();
      assert.equal(await countEvents(t, orgId), eventsBefore, 'no event for a change that did not happen');
      assert.equal((await verifyChain(t.db.database.db, orgId)).ok, true);
    });
  });

async function countEvents(t: TestApp, orgId: string): Promise<number> {
  const db = t.db.database.db;
  const n = async (table: 'audit_events' | 'audit_pending') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('org_id', '=', orgId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  return (await n('audit_events')) + (await n('audit_pending'));
}

describe(
  'insertWithAudit when the connection is lost (PostgreSQL, background sealing)',
  {
    skip: TEST_DIALECT !== 'postgres' && 'PostgreSQL only',
  },
  () => {
    const schema = `t_iwa_${randomBytes(4).toString('hex')}`;
    let relay: Relay;
    let t: TestApp;
    let orgId: string;
    let userId: string;
    before(async () => {
      relay = await startRelay(new URL(PG_URL));
      const viaRelay = new URL(PG_URL);
      viaRelay.port = String(relay.port);
      const database = await openDatabase(viaRelay.toString(), { pgSchema: schema, pgPoolSize: 5 });
      await migrateToLatest(database);
      const url = `${viaRelay.toString()}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      t = await createTestApp(
        { auditSealing: 'background' },
        {
          database: {
            database,
            url,
            cleanup: async () => {
              await database.close();
              await dropPostgresSchema(PG_URL, schema);
            },
          },
        },
      );
      ({ orgId } = await t.seedOrg('Lost', 'owner@lost.example'));
      userId = await ownerId(t, 'owner@lost.example');
    });
    after(async () => {
      await t?.close();
      await relay?.close();
    });

    /**
     * Opens pool connections (5 statements at once that each hold one for 50 ms), lets them go
     * idle, and ends every connection behind the pool's back (the app's own work included: it must
     * cope too). Nothing is held while waiting, so the app's sealer and jobs can never starve it.
     */
    async function endEveryPooledConnection(): Promise<void> {
      await Promise.all(Array.from({ length: 5 }, () => sql`select pg_sleep(0.05)`.execute(t.db.database.db)));
      assert.ok(relay.sever() >= 1, 'pooled connections were open');
    }

    test('a statement that drew a dead connection did not run: it is sent again and recorded once', async () => {
      for (let round = 0; round < 3; round++) {
        const change = await conversationChange(t.system, orgId, userId);
        await endEveryPooledConnection();
        const [eventId] = await insertWithAudit(t.system, change.inserts, [change.event]);
        assert.equal((await placesOf(t, eventId as string)).length, 1);
        const rows = await t.db.database.db
          .selectFrom('workspace_conversations')
          .select('id')
          .where('id', '=', change.conversationId)
          .execute();
        assert.equal(rows.length, 1);
      }
    });

    test('a statement that committed but whose answer was lost is not applied twice', async () => {
      for (let round = 0; round < 3; round++) {
        const change = await conversationChange(t.system, orgId, userId);
        const lostBefore = relay.answersLost;
        relay.loseAnswerTo('change_0');
        const [eventId] = await insertWithAudit(t.system, change.inserts, [change.event]);
        assert.equal(relay.answersLost, lostBefore + 1, 'the answer to the first attempt was lost');
        assert.equal((await placesOf(t, eventId as string)).length, 1, 'one event, not two');
        await t.sealAudit();
        assert.deepEqual(await placesOf(t, eventId as string), ['sealed']);
      }
      assert.equal((await verifyChain(t.db.database.db, orgId)).ok, true);
    });
  },
);
