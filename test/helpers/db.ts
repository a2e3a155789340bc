import { randomBytes } from 'node:crypto';
import { type Database, dropPostgresSchema, openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';

/** The suite runs once per dialect: PALISADE_TEST_DB=sqlite (default) or postgres. */
export const TEST_DIALECT: 'sqlite' | 'postgres' = process.env.PALISADE_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
export const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  database: Database;
  /** A DATABASE_URL another process (the CLI) can use to reach the same data. */
  url: string;
  cleanup(): Promise<void>;
}

/**
 * A fresh, migrated database: a temporary SQLite file, or a PostgreSQL schema of its own.
 * `migrate: false` leaves it empty, for tests that migrate it themselves (data migrations).
 */
export async function openTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const migrate = options.migrate ?? true;
  const tag = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  if (TEST_DIALECT === 'postgres') {
    const database = await openDatabase(PG_URL, { pgSchema: tag, pgPoolSize: 5 });
    if (migrate) await migrateToLatest(database);
    const url = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${tag}`)}`;
    return {
      database,
      url,
      cleanup: async () => {
        await database.close();
        await dropPostgresSchema(PG_URL, tag);
      },
    };
  }
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'palisade-test-'));
  const url = `sqlite:${join(dir, 'test.db')}`;
  const database = await openDatabase(url);
  if (migrate) await migrateToLatest(database);
  return {
    database,
    url,
    cleanup: async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
