import { type Clock, systemClock } from './clock.js';
import { type PalisadeConfig, loadConfig } from './config.js';
import { type Database, openDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';

/** What every entry point needs: validated config and a migrated database. */
export interface Runtime {
  config: PalisadeConfig;
  database: Database;
  clock: Clock;
  close(): Promise<void>;
}

export async function startRuntime(overrides: Partial<PalisadeConfig> = {}): Promise<Runtime> {
  const config = loadConfig(process.env, overrides);
  const database = await openDatabase(config.databaseUrl);
  try {
    await migrateToLatest(database);
  } catch (err) {
    await database.close();
    throw err;
  }
  return { config, database, clock: systemClock, close: () => database.close() };
}
