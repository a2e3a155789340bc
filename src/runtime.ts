import { type Clock, systemClock } from './clock.js';
import { type PalisadeConfig, loadConfig } from './config.js';
import { closeKeyProvider } from './crypto/provider.js';
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
    // The config names the key provider: migrations that seal existing secrets need it.
    await migrateToLatest(database, { config, log: (msg) => console.warn(msg) });
  } catch (err) {
    await database.close();
    await closeKeyProvider(config);
    throw err;
  }
  const close = async () => {
    await database.close();
    await closeKeyProvider(config);
  };
  return { config, database, clock: systemClock, close };
}
