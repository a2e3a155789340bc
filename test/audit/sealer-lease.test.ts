import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { recordAudit } from '../../src/audit/record.js';
import { sql } from 'kysely';
import { AuditSealer, startAuditSealer, stopAuditSealer } from '../../src/audit/seal.js';
import { auditSealerOf } from '../../src/audit/sealer-registry.js';
import { verifyChain } from '../../src/audit/verify.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { systemCtx } from '../../src/context.js';
import { type Database, dropPostgresSchema, openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { PG_URL, TEST_DIALECT } from '../helpers/db.js';

/**
 * Background sealing across instances (src/audit/sealer-lease.ts): two database objects on one
 * schema stand for two instances, each with its own pool and sealer. Exactly one seals (the lease
 * holder); events either one appends are sealed within a second; when the holder stops, the other
 * takes the lease over and seals what is appended after.
 */
describe(
  'background sealing: one sealer across instances',
  { skip: TEST_DIALECT !== 'postgres' && 'PostgreSQL only' },
  () => {
    const schema = `t_lease_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const orgId = 'org_lease_test';
    let a: Database;
    let b: Database;
    const stopped = new Set<Database>();
    const errors: unknown[] = [];
    const config = loadConfig(
      {},
      { databaseUrl: PG_URL, logLevel: 'silent', masterKey: randomBytes(32).toString('base64') },
    );

    before(async () => {
      a = await openDatabase(PG_URL, { pgSchema: schema, pgPoolSize: 4 });
      await migrateToLatest(a);
      b = await openDatabase(PG_URL, { pgSchema: schema, pgPoolSize: 4 });
      startAuditSealer(a.db, 'background', (err) => errors.push(err));
      startAuditSealer(b.db, 'background', (err) => errors.push(err));
    });
    after(async () => {
      for (const db of [a, b]) if (!stopped.has(db)) await stopAuditSealer(db.db);
      await a.close();
      await b.close();
      await dropPostgresSchema(PG_URL, schema);
    });

    const append = (db: Database, n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          db.db.transaction().execute((tx) =>
            recordAudit(tx, systemCtx({ db: db.db, clock: systemClock, config }, 'lease-test'), {
              orgId,
              action: 'org.updated',
              metadata: { i },
            }),
          ),
        ),
      );
    const pending = async () =>
      Number(
        (
          await a.db
            .selectFrom('audit_pending')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('org_id', '=', orgId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const sealedWithin = async (ms: number) => {
      const until = Date.now() + ms;
      while ((await pending()) > 0) {
        if (Date.now() > until) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    };
    /** Sessions holding the sealer lease of this schema, seen from the server. */
    const leaseHolders = async () =>
      (
        await sql<{
          n: number;
        }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and granted and objid = (hashtext(current_schema() || '.palisade.audit_sealer')::bigint & 4294967295)`.execute(
          a.db,
        )
      ).rows[0]?.n;
    const sealerOf = (db: Database) => {
      const sealer = auditSealerOf(db.db);
      assert.ok(sealer instanceof AuditSealer);
      return sealer;
    };

    test('events appended through either instance are sealed within a second, by one lease holder', async () => {
      await Promise.all([append(a, 30), append(b, 30)]);
      assert.ok(await sealedWithin(1000), 'sealed within 1 s');
      assert.equal(await leaseHolders(), 1, 'exactly one instance holds the sealer lease');
      const v = await verifyChain(a.db, orgId);
      assert.equal(v.ok, true, JSON.stringify(v.firstFailure));
      assert.equal(v.eventsChecked, 60);
    });

    test('the holder stops: the other instance takes the lease over and seals what comes next', async () => {
      const [holder, other] = sealerOf(a).leaseHeld ? [a, b] : [b, a];
      assert.equal(sealerOf(holder).leaseHeld, true);
      assert.equal(sealerOf(other).leaseHeld, false, 'the other instance only tries for the lease');
      await stopAuditSealer(holder.db);
      stopped.add(holder);
      await append(other, 20);
      assert.ok(await sealedWithin(1000), 'sealed within 1 s by the remaining instance');
      assert.equal(sealerOf(other).leaseHeld, true);
      assert.equal(await leaseHolders(), 1);
      const v = await verifyChain(a.db, orgId);
      assert.equal(v.ok, true, JSON.stringify(v.firstFailure));
      assert.equal(v.eventsChecked, 80);
      assert.deepEqual(errors, []);
    });
  },
);
