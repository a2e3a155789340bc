import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type SignedCheckpoint,
  checkpointSignatureProblem,
  createCheckpoint,
  publishedKeys,
} from '../../src/audit/checkpoints.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { MIGRATION_NAMES, migrateTo, migrateToLatest } from '../../src/db/migrate.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { TEST_DIALECT, openTestDatabase } from '../helpers/db.js';

/**
 * One active checkpoint signing key by construction: a unique partial index admits one, and the first
 * use creates it with an insert that a concurrent loser turns into a no-op before re-reading.
 * Before, simultaneous first checkpoints each generated a key (2–3 "active" keys in 3 of 10 trials).
 */
describe('audit signing key: racing first checkpoints', () => {
  let t: TestApp;
  /**
   * On PostgreSQL, separate pools (separate processes' worth of connections) on the same database.
   * SQLite has one writer per file: its concurrent transactions share the one connection.
   */
  const others: Database[] = [];
  before(async () => {
    t = await createTestApp();
    if (TEST_DIALECT === 'postgres') for (let i = 0; i < 3; i++) others.push(await openDatabase(t.db.url));
  });
  after(async () => {
    for (const d of others) await d.close();
    await t.close();
  });

  test('several simultaneous first checkpoints, each in its own transaction and connection, leave exactly one active key (10 trials)', async () => {
    const orgs = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => t.seedOrg(`Race ${i}`, `owner@race-${i}.example`)));
    const pools = [t.db.database, ...others];
    for (let trial = 0; trial < 10; trial++) {
      // Back to "no key yet", as on a fresh installation (checkpoints first: they name their key).
      await t.db.database.db.deleteFrom('audit_checkpoints').execute();
      await t.db.database.db.deleteFrom('audit_signing_keys').execute();
      const now = t.clock.now();
      const made = await Promise.all(
        orgs.map(({ orgId }, i) =>
          (pools[i % pools.length] as Database).db
            .transaction()
            .execute((tx) => createCheckpoint(tx, now, orgId, 'manual', undefined, t.config)),
        ),
      );
      const keys = await t.db.database.db.selectFrom('audit_signing_keys').select(['kid', 'status']).execute();
      const active = keys.filter((k) => k.status === 'active');
      assert.equal(active.length, 1, `trial ${trial}: ${JSON.stringify(keys)}`);
      assert.equal(keys.length, 1, `trial ${trial}: a loser's key is never stored: ${JSON.stringify(keys)}`);
      const published = (await publishedKeys(t.db.database.db)).keys;
      for (const cp of made) {
        assert.equal(
          cp.payload.kid,
          active[0]!.kid,
          `trial ${trial}: every checkpoint is signed by the one active key`,
        );
        assert.equal(checkpointSignatureProblem(cp as SignedCheckpoint, published), undefined);
      }
    }
  });

  test('the database refuses a second active key', async () => {
    const at = t.clock.now().toISOString();
    await assert.rejects(
      t.db.database.db
        .insertInto('audit_signing_keys')
        .values({
          kid: 'ack_second',
          public_jwk: '{}',
          private_pkcs8: '',
          status: 'active',
          created_at: at,
          retired_at: null,
        })
        .execute(),
      /unique|UNIQUE/,
    );
  });
});

describe(`migration 0021 on a database that already holds duplicate active keys (${TEST_DIALECT})`, () => {
  test('keeps the newest active (created_at, then kid) and retires the others as of its creation', async () => {
    const tdb = await openTestDatabase({ migrate: false });
    try {
      await migrateTo(tdb.database, MIGRATION_NAMES[MIGRATION_NAMES.indexOf('0021_concurrency') - 1] as string);
      const row = (kid: string, created_at: string, status: 'active' | 'retired' = 'active') => ({
        kid,
        public_jwk: '{}',
        private_pkcs8: 'kek:v1:x',
        status,
        created_at,
        retired_at: null,
      });
      await tdb.database.db
        .insertInto('audit_signing_keys')
        .values([
          row('ack_a', '2026-01-01T00:00:00.000Z'),
          row('ack_c', '2026-01-02T00:00:00.000Z'),
          row('ack_b', '2026-01-02T00:00:00.000Z'),
          row('ack_old', '2025-01-01T00:00:00.000Z', 'retired'),
        ])
        .execute();
      await migrateToLatest(tdb.database);
      const keys = await tdb.database.db
        .selectFrom('audit_signing_keys')
        .select(['kid', 'status', 'retired_at'])
        .orderBy('kid')
        .execute();
      assert.deepEqual(keys, [
        { kid: 'ack_a', status: 'retired', retired_at: '2026-01-02T00:00:00.000Z' },
        { kid: 'ack_b', status: 'retired', retired_at: '2026-01-02T00:00:00.000Z' },
        { kid: 'ack_c', status: 'active', retired_at: null },
        { kid: 'ack_old', status: 'retired', retired_at: null },
      ]);
    } finally {
      await tdb.cleanup();
    }
  });
});
