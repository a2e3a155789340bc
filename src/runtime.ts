import { type Clock, systemClock } from './clock.js';
import { existsSync } from 'node:fs';
import { ConfigError, type PalisadeConfig, loadConfig } from './config.js';
import { closeKeyProvider } from './crypto/provider.js';
import { type Database, openDatabase, openOptionsFrom, sqlitePathOf } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';

/** What every entry point needs: validated config and a migrated database. */
export interface Runtime {
  config: PalisadeConfig;
  database: Database;
  clock: Clock;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /**
   * Commands that read an installation (audit export, jobs run …) refuse to create a new empty
   * SQLite file: run from the wrong directory, they would otherwise answer "not found" about an
   * organization that exists in the real database.
   */
  existingDatabase?: boolean;
}

export async function startRuntime(
  overrides: Partial<PalisadeConfig> = {},
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const config = loadConfig(process.env, overrides);
  const file = sqlitePathOf(config.databaseUrl);
  if (options.existingDatabase && file && file !== ':memory:' && !existsSync(file)) {
    throw new ConfigError(
      'DATABASE_URL',
      `there is no Palisade database at ${file} (from ${config.databaseUrl}; a relative path starts at the current directory). Run this command in the directory where you ran \`palisade init\`, or set DATABASE_URL to the server's database, e.g. sqlite:/srv/palisade/data/palisade.db.`,
    );
  }
  const database = await openDatabase(config.databaseUrl, openOptionsFrom(config));
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
