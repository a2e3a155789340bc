import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { verifyChain } from '../audit/verify.js';
import type { PalisadeConfig } from '../config.js';
import { dataKeyOpens } from '../crypto/data-keys.js';
import { PalisadeError } from '../errors.js';
import { type Database, sqliteHandleOf, sqlitePathOf } from '../db/connect.js';

/**
 * Backups of the embedded SQLite database, and the check that a restored installation (either
 * engine) is whole. PostgreSQL backups use PostgreSQL's own tools (docs/operations.md), then the
 * same check.
 */

/**
 * Online backup: SQLite's backup API copies a consistent snapshot page by page while the server
 * keeps serving (a write from another connection restarts the copy of the pages it changed), into
 * a temporary file renamed into place once complete, so a failed backup never leaves a half file.
 */
export async function backupSqlite(
  database: Database,
  to: string,
  onProgress?: (done: number, total: number) => void,
): Promise<{ pages: number; bytes: number }> {
  const handle = sqliteHandleOf(database.db);
  if (database.dialect !== 'sqlite' || !handle) {
    throw new PalisadeError(
      400,
      'backup_not_sqlite',
      'palisade backup copies the embedded SQLite database. For PostgreSQL use pg_dump --format=custom (see docs/operations.md), then palisade db check on the restored copy.',
    );
  }
  if (existsSync(to))
    throw new PalisadeError(
      409,
      'backup_exists',
      `${to} already exists; choose a new file name (backups are never overwritten).`,
    );
  mkdirSync(dirname(to), { recursive: true });
  const partial = `${to}.partial`;
  rmSync(partial, { force: true });
  let pages = 0;
  await handle.backup(partial, {
    progress: ({ totalPages, remainingPages }) => {
      pages = totalPages;
      onProgress?.(totalPages - remainingPages, totalPages);
      return 1024;
    },
  });
  // The backup is a plain database file: no WAL to carry along.
  const check = new SQLite(partial);
  try {
    check.pragma('journal_mode = DELETE');
    const ok = check.pragma('integrity_check', { simple: true });
    if (ok !== 'ok') throw new Error(`the backup failed SQLite's integrity check: ${String(ok)}`);
  } finally {
    check.close();
  }
  renameSync(partial, to);
  const bytes = statSync(to).size;
  return { pages, bytes };
}

/**
 * Restores a backup file as the database DATABASE_URL names. The server must be stopped. The file
 * is checked before it replaces anything; an existing database is replaced only with `force`, and
 * is kept beside it as `<name>.before-restore`.
 */
export function restoreSqlite(
  config: PalisadeConfig,
  from: string,
  force: boolean,
): { path: string; keptPrevious: string | null } {
  const path = sqlitePathOf(config.databaseUrl);
  if (!path || path === ':memory:')
    throw new PalisadeError(
      400,
      'restore_not_sqlite',
      'palisade restore restores the embedded SQLite database: set DATABASE_URL to the sqlite: file to restore into. For PostgreSQL use pg_restore (docs/operations.md), then palisade db check.',
    );
  if (!existsSync(from)) throw new PalisadeError(404, 'backup_not_found', `There is no backup file at ${from}.`);
  const check = new SQLite(from, { readonly: true, fileMustExist: true });
  try {
    const ok = check.pragma('integrity_check', { simple: true });
    if (ok !== 'ok')
      throw new PalisadeError(
        422,
        'backup_damaged',
        `${from} failed SQLite's integrity check (${String(ok)}); restore another backup.`,
      );
    const tables = check
      .prepare("select count(*) as n from sqlite_master where type = 'table' and name = 'audit_events'")
      .get() as { n: number };
    if (Number(tables.n) !== 1)
      throw new PalisadeError(
        422,
        'backup_not_palisade',
        `${from} is a SQLite database but not a Palisade one (it has no audit_events table).`,
      );
  } finally {
    check.close();
  }
  let keptPrevious: string | null = null;
  if (existsSync(path)) {
    if (!force)
      throw new PalisadeError(
        409,
        'restore_target_exists',
        `${path} exists. Stop Palisade, then run again with --force to replace it (the current file is kept as ${path}.before-restore).`,
      );
    keptPrevious = `${path}.before-restore`;
    rmSync(keptPrevious, { force: true });
    renameSync(path, keptPrevious);
    for (const side of ['-wal', '-shm']) if (existsSync(path + side)) renameSync(path + side, keptPrevious + side);
  }
  mkdirSync(dirname(path), { recursive: true });
  copyFileSync(from, path);
  return { path, keptPrevious };
}

export interface InstallationCheck {
  chains: { orgId: string; events: number; ok: boolean; problem: string | null }[];
  dataKeys: { total: number; opened: number; failed: { orgId: string; version: number }[] };
  ok: boolean;
}

/**
 * Whether an installation is whole: every audit chain verifies, and every organization data key
 * opens with the configured key-encryption key (so its encrypted content is readable). Shredded
 * keys are not counted: their content was erased on purpose.
 */
export async function checkInstallation(database: Database, config: PalisadeConfig): Promise<InstallationCheck> {
  const heads = await database.db.selectFrom('audit_chain_heads').select('org_id').orderBy('org_id').execute();
  const chains: InstallationCheck['chains'] = [];
  for (const h of heads) {
    const v = await verifyChain(database.db, h.org_id);
    chains.push({
      orgId: h.org_id,
      events: v.eventsChecked,
      ok: v.ok,
      problem: v.ok ? null : (v.firstFailure?.explanation ?? 'does not verify'),
    });
  }
  const keys = await database.db
    .selectFrom('org_data_keys')
    .select(['org_id', 'version', 'kek_id', 'wrapped_key', 'status'])
    .where('status', '!=', 'destroyed')
    .execute();
  const failed: { orgId: string; version: number }[] = [];
  for (const k of keys)
    if (!(await dataKeyOpens(config, k))) failed.push({ orgId: k.org_id, version: Number(k.version) });
  return {
    chains,
    dataKeys: { total: keys.length, opened: keys.length - failed.length, failed },
    ok: chains.every((c) => c.ok) && failed.length === 0,
  };
}
