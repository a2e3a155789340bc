import { type Migration, type MigrationProvider, type MigrationResultSet, Migrator, sql } from 'kysely';
import type { PalisadeConfig } from '../config.js';
import type { Database } from './connect.js';
import * as m0001 from './migrations/0001_foundation.js';
import * as m0002 from './migrations/0002_jobs_and_role_mapping.js';
import * as m0003 from './migrations/0003_domains.js';
import * as m0004 from './migrations/0004_sso.js';
import * as m0005 from './migrations/0005_scim.js';
import * as m0006 from './migrations/0006_audit_product.js';
import * as m0007 from './migrations/0007_workspace.js';
import * as m0008 from './migrations/0008_audit_event_targets.js';
import * as m0009 from './migrations/0009_stream_secrets_sealed.js';
import * as m0010 from './migrations/0010_sso_secrets_sealed.js';
import * as m0011 from './migrations/0011_signed_authn_requests_and_rate_limits.js';
import * as m0012 from './migrations/0012_scim_suspension.js';
import * as m0013 from './migrations/0013_session_auth_method.js';
import * as m0014 from './migrations/0014_account_security.js';
import * as m0015 from './migrations/0015_lockout_safety.js';
import * as m0016 from './migrations/0016_standards_conformance.js';
import * as m0017 from './migrations/0017_content_keys.js';
import * as m0018 from './migrations/0018_leases_and_delivery_health.js';
import * as m0019 from './migrations/0019_compliance.js';
import * as m0020 from './migrations/0020_github.js';
import * as m0021 from './migrations/0021_concurrency.js';
import * as m0022 from './migrations/0022_notifications.js';
import * as m0023 from './migrations/0023_cache_invalidation.js';
import * as m0024 from './migrations/0024_audit_pending.js';
import * as m0025 from './migrations/0025_admin_suspension.js';
import * as m0026 from './migrations/0026_test_idp.js';
import * as m0027 from './migrations/0027_cache_credentials.js';
import * as m0028 from './migrations/0028_cache_inserts_by_user.js';

/** What a migration that encrypts existing data needs besides the database. */
export interface MigrationDeps {
  /** Names the key provider (master key or HSM); a migration with rows to seal refuses to run without it. */
  config?: PalisadeConfig;
  now?: () => Date;
  /** Where a key provider started by a migration reports (the embedded quick start generating its master key). */
  log?: (msg: string) => void;
}

/**
 * Migrations live in code (not scanned from disk) so the compiled build and tsx run the same list. Append new ones in order.
 * A migration that encrypts existing data is a function of `MigrationDeps` (it needs the key provider).
 */
const MIGRATIONS: Record<string, Migration | ((deps: MigrationDeps) => Migration)> = {
  '0001_foundation': m0001,
  '0002_jobs_and_role_mapping': m0002,
  '0003_domains': m0003,
  '0004_sso': m0004,
  '0005_scim': m0005,
  '0006_audit_product': m0006,
  '0007_workspace': m0007,
  '0008_audit_event_targets': m0008,
  '0009_stream_secrets_sealed': m0009,
  '0010_sso_secrets_sealed': m0010.migration,
  '0011_signed_authn_requests_and_rate_limits': m0011,
  '0012_scim_suspension': m0012,
  '0013_session_auth_method': m0013,
  '0014_account_security': m0014,
  '0015_lockout_safety': m0015,
  '0016_standards_conformance': m0016,
  '0017_content_keys': m0017,
  '0018_leases_and_delivery_health': m0018,
  '0019_compliance': m0019,
  '0020_github': m0020,
  '0021_concurrency': m0021,
  '0022_notifications': m0022,
  '0023_cache_invalidation': m0023,
  '0024_audit_pending': m0024,
  '0025_admin_suspension': m0025,
  '0026_test_idp': m0026,
  '0027_cache_credentials': m0027,
  '0028_cache_inserts_by_user': m0028,
};

export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS);

const providerFor = (deps: MigrationDeps): MigrationProvider => ({
  getMigrations: async () =>
    Object.fromEntries(Object.entries(MIGRATIONS).map(([name, m]) => [name, typeof m === 'function' ? m(deps) : m])),
});

export interface MigrationReport {
  applied: string[];
  /** Migrations of a newer release found in the database (a rolling upgrade in progress); nothing was applied. */
  newerSchema?: string[];
}

function migratorFor(database: Database, deps: MigrationDeps): Migrator {
  return new Migrator({
    db: database.db,
    provider: providerFor(deps),
    ...(database.schema ? { migrationTableSchema: database.schema } : {}),
  });
}

/**
 * Applies every pending migration. `deps.config` is needed only when a migration has existing data
 * to encrypt (0010 seals SSO secrets); a fresh database migrates without it.
 */
export async function migrateToLatest(database: Database, deps: MigrationDeps = {}): Promise<MigrationReport> {
  const newer = await migrationsFromANewerRelease(database);
  if (newer.length) {
    const executed = new Set(await executedMigrations(database));
    const pending = MIGRATION_NAMES.filter((m) => !executed.has(m));
    if (pending.length)
      throw new Error(
        `The database holds migrations of a newer Palisade release (${newer.join(', ')}) but not this release's ${pending.join(', ')}. It was not migrated in order; restore it from a backup, or run the newest release's \`palisade migrate\`.`,
      );
    // A rolling upgrade: a newer release migrated the schema while this one still runs (or restarts).
    // Every migration is expand-only within a release (docs/operations.md, "Upgrades"), so this
    // release keeps working on it; refusing to start would turn one upgrade into an outage.
    deps.log?.(
      `The database schema is from a newer Palisade release (it also has ${newer.join(', ')}). This release runs on it unchanged during a rolling upgrade; finish the upgrade so every instance runs the newer release.`,
    );
    return { applied: [], newerSchema: newer };
  }
  return report(await migratorFor(database, deps).migrateToLatest());
}

/** Names of the migrations the database has run, in order; none on a fresh database. */
export async function executedMigrations(database: Database): Promise<string[]> {
  const table = database.schema ? sql.table(`${database.schema}.kysely_migration`) : sql.table('kysely_migration');
  try {
    const rows = await sql<{ name: string }>`select name from ${table} order by name`.execute(database.db);
    return rows.rows.map((r) => r.name);
  } catch {
    return []; // no migration table yet
  }
}

/** Migrations the database has run that this release does not know: a newer release applied them. */
export async function migrationsFromANewerRelease(database: Database): Promise<string[]> {
  return (await executedMigrations(database)).filter((m) => !MIGRATION_NAMES.includes(m));
}

/** Migrates up or down to exactly `name` (tests of data migrations start from an older schema). */
export async function migrateTo(database: Database, name: string, deps: MigrationDeps = {}): Promise<MigrationReport> {
  if (!MIGRATION_NAMES.includes(name)) throw new Error(`unknown migration ${name}`);
  return report(await migratorFor(database, deps).migrateTo(name));
}

function report({ error, results }: MigrationResultSet): MigrationReport {
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const name = failed?.migrationName ?? 'unknown';
    throw new Error(
      `Database migration ${name} failed: ${error instanceof Error ? error.message : String(error)}. The database was left at the last good migration; fix the cause and run \`palisade migrate\` again.`,
      { cause: error },
    );
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
