import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { recordAudit } from '../../src/audit/record.js';
import { sealOrganization } from '../../src/audit/seal.js';
import { auditSealerOf } from '../../src/audit/sealer-registry.js';
import { verifyChain } from '../../src/audit/verify.js';
import { pendingAuditRow } from '../helpers/audit-pending.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * Append-then-seal (PALISADE_AUDIT_SEALING=background or batched; src/audit/seal.ts), forced on both
 * dialects: request transactions append events beside their changes, a sealer links them into the
 * chain in batches. What must hold: an acknowledged request's event is in the chain when its response
 * arrives (batched) or within a second of it without anyone reading (background), and a request
 * never waits on the organization's chain head (background); events written outside a request are
 * sealed within a second; nothing rolled back is sealed; inline writers (a previous release during a
 * rolling upgrade, a CLI command) and the sealer extend one chain; events left pending by a writer
 * that died are sealed by the next sweep.
 */
for (const mode of ['batched', 'background'] as const)
  describe(`audit sealing (${mode})`, () => {
    let t: TestApp;
    let orgId: string;
    let owner: Agent;
    const db = () => t.db.database.db;
    const pendingCount = async () =>
      Number(
        (
          await db()
            .selectFrom('audit_pending')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('org_id', '=', orgId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const sealedIds = async () =>
      (await db().selectFrom('audit_events').select('id').where('org_id', '=', orgId).execute()).map((r) => r.id);

    before(async () => {
      t = await createTestApp({ auditSealing: mode });
      ({ orgId, owner } = await t.seedOrg('Sealing', 'owner@sealing.example'));
    });
    after(() => t.close());

    const sealedWithin = async (ms: number): Promise<boolean> => {
      const until = Date.now() + ms;
      while ((await pendingCount()) > 0) {
        if (Date.now() > until) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    };

    /** The chain-head tests: background mode on PostgreSQL only. */
    const backgroundOnPostgres = {
      skip:
        mode !== 'background' || TEST_DIALECT === 'sqlite'
          ? 'background mode on PostgreSQL (a SQLite write transaction holds the whole database)'
          : false,
    };
    /** Holds the organization's chain head in a transaction of the test's own until `release()`; `holder` settles when it has ended. */
    const holdChainHead = async (): Promise<{ release: () => void; holder: Promise<void> }> => {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holder = db()
        .transaction()
        .execute(async (tx) => {
          await tx.selectFrom('audit_chain_heads').select('seq').where('org_id', '=', orgId).forUpdate().execute();
          locked();
          await released;
        });
      await isLocked;
      return { release, holder };
    };

    test(`the app runs the ${mode} sealer`, () => {
      assert.equal(auditSealerOf(db())?.mode, mode);
    });

    test(`24 concurrent audit-producing requests: every acknowledged event is sealed ${mode === 'batched' ? 'when its response arrives' : 'within 1 s of the responses, with nobody reading'}, the chain verifies`, async () => {
      const before = await sealedIds();
      const answers = await Promise.all(
        Array.from({ length: 24 }, () => owner.post(`/api/v1/orgs/${orgId}/conversations`, {})),
      );
      for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
      // Read the tables directly, as a SIEM or an auditor would: no seal-first helper involved.
      if (mode === 'batched') assert.equal(await pendingCount(), 0);
      else assert.ok(await sealedWithin(1000), 'sealed by the sweep within 1 s');
      const created = await db()
        .selectFrom('audit_events')
        .select(['seq', 'action'])
        .where('org_id', '=', orgId)
        .where('action', '=', 'conversation.created')
        .execute();
      assert.equal(created.length, 24);
      assert.ok((await sealedIds()).length >= before.length + 24);
      const v = await verifyChain(db(), orgId);
      assert.equal(v.ok, true, JSON.stringify(v.firstFailure));
      assert.equal(v.unsealedEvents, 0);
      const seqs = (
        await db().selectFrom('audit_events').select('seq').where('org_id', '=', orgId).orderBy('seq').execute()
      ).map((r) => Number(r.seq));
      assert.deepEqual(
        seqs,
        seqs.map((_, i) => i + 1),
        'sequence numbers are 1..n without gaps',
      );
    });

    test(
      'background: a request is answered while another transaction holds the chain head, and its event is sealed once it is released',
      backgroundOnPostgres,
      async () => {
        // The organization-wide lock a sealer (of any instance) or an inline writer takes. Held here by
        // a transaction of the test's own: a request must not wait for it.
        const { release, holder } = await holdChainHead();
        try {
          const answers = await Promise.all(
            Array.from({ length: 8 }, () => owner.post(`/api/v1/orgs/${orgId}/conversations`, {})),
          );
          for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
          assert.ok((await pendingCount()) >= 8, 'answered with the events appended, not yet sealed');
        } finally {
          release();
          await holder;
        }
        assert.ok(await sealedWithin(1000), 'sealed within 1 s of the lock being released');
        assert.equal((await verifyChain(db(), orgId)).ok, true);
      },
    );

    test(
      'background: a reader of the chain never queues on the chain head: while another transaction holds it, an audit search waits without a lock wait, then answers with every event appended before it',
      backgroundOnPostgres,
      async () => {
        // The head is taken first, so the new event stays pending (no sealer can take it) until released.
        const { release, holder } = await holdChainHead();
        let conversationId = '';
        let answered = false;
        let search: ReturnType<Agent['get']> | undefined;
        try {
          const created = await owner.post(`/api/v1/orgs/${orgId}/conversations`, {});
          assert.equal(created.status, 201, JSON.stringify(created.body));
          conversationId = String((created.body as { id: string }).id);
          assert.ok((await pendingCount()) >= 1, 'the event is appended, not sealed');
          search = owner.get(`/api/v1/orgs/${orgId}/audit-events?limit=200`).then((r) => {
            answered = true;
            return r;
          });
          // Several looks while the head is held: the search is waiting, and no backend waits on a row lock.
          for (let i = 0; i < 5; i++) {
            await new Promise((r) => setTimeout(r, 60));
            // Lock requests not granted, of the backends that hold a lock on this schema's chain-head table
            // (a waiter for its row holds the table's row-exclusive lock and waits on the holder's
            // transaction id); other test files' schemas are other tables.
            const waiting = await sql<{ n: number | string }>`
              select count(*) as n from pg_locks w
              where not w.granted
                and w.pid in (select pid from pg_locks where relation = 'audit_chain_heads'::regclass)`.execute(db());
            assert.equal(Number(waiting.rows[0]?.n), 0, 'nobody queues on the chain head');
            assert.equal(answered, false, 'the search waits for the events appended before it to be sealed');
          }
        } finally {
          release();
          await holder;
        }
        assert.ok(search);
        const answer = await search;
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        const events = (answer.body as { data: { action: string; targets?: { id: string }[] }[] }).data;
        assert.ok(
          events.some((e) => e.action === 'conversation.created' && e.targets?.some((x) => x.id === conversationId)),
          'the event appended before the search is in its answer',
        );
        assert.equal((await verifyChain(db(), orgId)).ok, true);
      },
    );

    test('an event written outside a request is pending at first and sealed within a second', async () => {
      const id = await db()
        .transaction()
        .execute((tx) => recordAudit(tx, t.system, { orgId, action: 'org.updated', metadata: { by: 'job' } }));
      const until = Date.now() + 1000;
      let sealed = false;
      while (Date.now() < until && !sealed) {
        sealed =
          (await db().selectFrom('audit_events').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
        if (!sealed) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(sealed, 'sealed by the sweep within 1 s');
      assert.equal(await pendingCount(), 0);
      assert.equal((await verifyChain(db(), orgId)).ok, true);
    });

    test('a rolled-back transaction leaves no event, pending or sealed', async () => {
      let appended = '';
      await assert.rejects(
        db()
          .transaction()
          .execute(async (tx) => {
            appended = await recordAudit(tx, t.system, { orgId, action: 'org.updated', metadata: { rolled: 'back' } });
            throw new Error('the change failed');
          }),
        /the change failed/,
      );
      await sealOrganization(db(), orgId);
      assert.ok(appended.startsWith('evt_'));
      assert.equal(
        await db().selectFrom('audit_events').select('id').where('id', '=', appended).executeTakeFirst(),
        undefined,
      );
      assert.equal(
        await db().selectFrom('audit_pending').select('id').where('id', '=', appended).executeTakeFirst(),
        undefined,
      );
    });

    test('inline writers (a previous release, a CLI command) and the sealer extend one chain', async () => {
      // A context without the app's database object has no sealer: recordAudit links inline, under
      // the chain-head lock, as the previous release does.
      const inlineCtx = { clock: t.system.clock, caller: t.system.caller, meta: t.system.meta };
      const work: Promise<unknown>[] = [];
      for (let i = 0; i < 12; i++) {
        work.push(owner.post(`/api/v1/orgs/${orgId}/conversations`, {}));
        work.push(
          db()
            .transaction()
            .execute((tx) => recordAudit(tx, inlineCtx, { orgId, action: 'org.updated', metadata: { inline: i } })),
        );
      }
      await Promise.all(work);
      await t.sealAudit();
      const v = await verifyChain(db(), orgId);
      assert.equal(v.ok, true, JSON.stringify(v.firstFailure));
      const inline = await db()
        .selectFrom('audit_events')
        .select('id')
        .where('org_id', '=', orgId)
        .where('action', '=', 'org.updated')
        .where('metadata', 'like', '%inline%')
        .execute();
      assert.equal(inline.length, 12);
    });

    test('events a dead writer left pending (committed, never sealed) are sealed by the sweep, in the chain', async () => {
      // What an instance killed between its commit and its seal leaves behind.
      const now = new Date().toISOString();
      const ids = ['evt_orphan_1', 'evt_orphan_2', 'evt_orphan_3'];
      await db()
        .insertInto('audit_pending')
        .values(
          ids.map((id) =>
            pendingAuditRow({
              id,
              org_id: orgId,
              occurred_at: now,
              actor_id: 'crashed-instance',
              targets: '[{"id":"usr_orphan","type":"user"}]',
              request_id: 'req_orphan',
            }),
          ),
        )
        .execute();
      const until = Date.now() + 1000;
      while (Date.now() < until && (await pendingCount()) > 0) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await pendingCount(), 0, 'sealed within 1 s');
      const rows = await db()
        .selectFrom('audit_events')
        .select(['id', 'seq'])
        .where('id', 'in', ids)
        .orderBy('seq')
        .execute();
      assert.deepEqual(
        rows.map((r) => r.id),
        ids,
      );
      // Their targets are indexed when sealed: the target search finds them.
      const found = await owner.get(`/api/v1/orgs/${orgId}/audit-events?target=usr_orphan`);
      assert.equal(found.status, 200);
      assert.equal(found.body.data.length, 3);
      assert.equal((await verifyChain(db(), orgId)).ok, true);
    });

    test('verification reports events not yet sealed apart, and an edited pending event is caught once sealed', async () => {
      await db()
        .transaction()
        .execute(async (tx) => {
          await tx
            .insertInto('audit_pending')
            .values(pendingAuditRow({ id: 'evt_unsealed_1', org_id: orgId, occurred_at: new Date().toISOString() }))
            .execute();
          const v = await verifyChain(tx, orgId);
          assert.equal(v.ok, true);
          assert.equal(v.unsealedEvents, 1);
          throw new Error('rollback');
        })
        .catch((e: Error) => assert.equal(e.message, 'rollback'));
      // The API seals before verifying: nothing acknowledged is left out.
      const res = await owner.get(`/api/v1/orgs/${orgId}/audit-events/verify`);
      assert.equal(res.status, 200);
      assert.equal(res.body.ok, true);
      assert.equal(res.body.unsealedEvents, 0);
      // Tampering with a sealed event is still caught.
      const victim = await db()
        .selectFrom('audit_events')
        .select(['id', 'metadata'])
        .where('org_id', '=', orgId)
        .where('id', '=', 'evt_orphan_2')
        .executeTakeFirstOrThrow();
      await db().updateTable('audit_events').set({ metadata: '{"edited":true}' }).where('id', '=', victim.id).execute();
      const tampered = await owner.get(`/api/v1/orgs/${orgId}/audit-events/verify`);
      assert.equal(tampered.body.ok, false);
      assert.equal(tampered.body.firstFailure.eventId, victim.id);
      assert.equal(tampered.body.firstFailure.problem, 'content_modified');
      await db().updateTable('audit_events').set({ metadata: victim.metadata }).where('id', '=', victim.id).execute();
    });
  });
