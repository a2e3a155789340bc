import type { ErrorCodeCatalog } from '../errors.js';

/** The database, and the backups and copies of src/operations/: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const DB_ERROR_CODES = {
  backup_damaged: { status: 422, message: "… failed SQLite's integrity check (…); restore another backup." },
  backup_exists: { status: 409, message: '… already exists; choose a new file name (backups are never overwritten).' },
  backup_not_found: {
    status: 404,
    message:
      'There is no backup file at the path given. Check the path (palisade backup list shows where backups are written).',
  },
  backup_not_palisade: {
    status: 422,
    message: '… is a SQLite database but not a Palisade one (it has no audit_events table).',
  },
  backup_not_sqlite: {
    status: 400,
    message:
      'palisade backup copies the embedded SQLite database. For PostgreSQL use pg_dump --format=custom (see docs/operations.md), then palisade db check on the restored copy.',
  },
  copy_source_not_migrated: {
    status: 409,
    message:
      'The SQLite database is not at the current version (missing …). Run `palisade migrate` on it first, then copy.',
  },
  copy_source_not_sqlite: {
    status: 400,
    message:
      'palisade db copy moves an embedded SQLite installation: set DATABASE_URL to the sqlite: database to copy from.',
  },
  copy_target_not_empty: {
    status: 409,
    message:
      'The PostgreSQL database already holds data (… has rows) and no copy was started there. Copy into an empty database (or schema), so nothing of another installation is mixed in.',
  },
  copy_target_not_postgres: {
    status: 400,
    message: 'Copy to a PostgreSQL database: --to postgres://user@host:5432/db.',
  },
  restore_not_sqlite: {
    status: 400,
    message:
      'palisade restore restores the embedded SQLite database: set DATABASE_URL to the sqlite: file to restore into. For PostgreSQL use pg_restore (docs/operations.md), then palisade db check.',
  },
  restore_target_exists: {
    status: 409,
    message:
      '… exists. Stop Palisade, then run again with --force to replace it (the current file is kept as ….before-restore).',
  },
  workers_need_postgres: {
    status: 400,
    message:
      "--workers … needs PostgreSQL. SQLite lets one process write at a time, so several workers would wait on each other's file lock instead of using more cores. Run one process on SQLite, or move the installation with `palisade db copy --to postgres://…` and set DATABASE_URL to it.",
  },
  database_unavailable: {
    status: 503,
    message:
      'The database cannot be reached or is restarting. Retry in a few seconds; an operator checks the database server (palisade doctor, /health).',
  },
  storage_unavailable: {
    status: 503,
    message:
      'The database cannot store data (disk full, read-only or failing storage); nothing was changed. An operator frees space or fixes the storage, then the request can be retried.',
  },
} as const satisfies ErrorCodeCatalog;
