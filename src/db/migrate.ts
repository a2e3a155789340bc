import { type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Database } from './connect.js';
import * as m0001 from './migrations/0001_foundation.js';
import * as m0002 from './migrations/0002_jobs_and_role_mapping.js';
import * as m0003 from './migrations/0003_domains.js';
import * as m0004 from './migrations/0004_sso.js';
import * as m0005 from './migrations/0005_scim.js';
import * as m0006 from './migrations/0006_audit_product.js';
import * as m0007 from './migrations/0007_workspace.js';
import * as m0009 from './migrations/0009_stream_secrets_sealed.js';

/** Migrations live in code (not scanned from disk) so the compiled build and tsx run the same list. Append new ones in order. */
const MIGRATIONS: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_jobs_and_role_mapping': m0002,
  '0003_domains': m0003,
  '0004_sso': m0004,
  '0005_scim': m0005,
  '0006_audit_product': m0006,
  '0007_workspace': m0007,
  '0009_stream_secrets_sealed': m0009,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export interface MigrationReport {
  applied: string[];
}

export async function migrateToLatest(database: Database): Promise<MigrationReport> {
  const migrator = new Migrator({
    db: database.db,
    provider,
    ...(database.schema ? { migrationTableSchema: database.schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const name = failed?.migrationName ?? 'unknown';
    throw new Error(`Database migration ${name} failed: ${error instanceof Error ? error.message : String(error)}. The database was left at the last good migration; fix the cause and run \`palisade migrate\` again.`, { cause: error });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
