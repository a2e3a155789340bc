import { hostname } from 'node:os';
import { PalisadeError } from '../errors.js';
import type { Db } from './schema.js';

/**
 * Faults of the database and of the disk under it, told apart from bugs: a full disk, a read-only
 * file system or database (a standby after failover), an I/O error, or a database that does not
 * answer (restarting, failing over). Each becomes a 503 whose message names the cause and says
 * that nothing was changed (the transaction rolled back), with Retry-After; and each is recorded on
 * the database's storage health, which /readyz and /metrics show until a write succeeds again.
 *
 * Engine differences (SQLite result codes, PostgreSQL SQLSTATEs, Node errno codes) live here only.
 */
export type StorageCause = 'disk_full' | 'read_only' | 'io_error';
export type FaultCause = StorageCause | 'database_unreachable' | 'database_busy';

export interface DatabaseFault {
  /** storage_unavailable: the database cannot be written. database_unavailable: it does not answer (or is too busy). */
  code: 'storage_unavailable' | 'database_unavailable';
  cause: FaultCause;
  /** The engine's own code: SQLITE_FULL, 53100, ECONNREFUSED … */
  engineCode: string;
  /** The engine's own message, shortened. */
  engineMessage: string;
}

const SQLITE_STORAGE: [RegExp, StorageCause][] = [
  [/^SQLITE_FULL/, 'disk_full'],
  [/^SQLITE_READONLY/, 'read_only'],
  [/^SQLITE_(IOERR|CANTOPEN|CORRUPT_VTAB)/, 'io_error'],
];
const ERRNO_STORAGE: Record<string, StorageCause> = {
  ENOSPC: 'disk_full',
  EDQUOT: 'disk_full',
  EROFS: 'read_only',
  EIO: 'io_error',
};
/** PostgreSQL SQLSTATEs: 53100 disk_full, 25006 read_only_sql_transaction (a standby), 58030 io_error. */
const PG_STORAGE: Record<string, StorageCause> = { '53100': 'disk_full', '25006': 'read_only', '58030': 'io_error' };
/** Server going away or not accepting connections: admin/crash shutdown, starting up, too many connections. */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '57P05', '53300', '53000']);
const NET_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);
/** What node-postgres and its pool say when a connection dies or cannot be had (no code attached). */
const PG_CONNECTION_MESSAGES =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|Client was closed|Connection terminated unexpectedly|terminating connection)/i;

/** Classifies an error as a database or storage fault, or undefined for anything else. */
export function databaseFaultOf(err: unknown): DatabaseFault | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { code?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = e.message.slice(0, 300);
  const storage = (cause: StorageCause): DatabaseFault => ({
    code: 'storage_unavailable',
    cause,
    engineCode: code,
    engineMessage: message,
  });
  const unavailable = (cause: FaultCause = 'database_unreachable'): DatabaseFault => ({
    code: 'database_unavailable',
    cause,
    engineCode: code || 'connection',
    engineMessage: message,
  });
  if (code.startsWith('SQLITE_')) {
    for (const [re, cause] of SQLITE_STORAGE) if (re.test(code)) return storage(cause);
    if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return unavailable('database_busy');
    return undefined;
  }
  if (ERRNO_STORAGE[code]) return storage(ERRNO_STORAGE[code]);
  if (NET_UNAVAILABLE.has(code)) return unavailable();
  if (/^[0-9A-Z]{5}$/.test(code)) {
    if (PG_STORAGE[code]) return storage(PG_STORAGE[code]);
    if (PG_UNAVAILABLE.has(code) || code.startsWith('08')) return unavailable();
    return undefined;
  }
  if (PG_CONNECTION_MESSAGES.test(e.message)) return unavailable();
  // An error wrapping one of the above (AggregateError from a connect to several addresses, a cause).
  if (e.cause instanceof Error) return databaseFaultOf(e.cause);
  if (err instanceof AggregateError)
    for (const inner of err.errors) if (databaseFaultOf(inner)) return databaseFaultOf(inner);
  return undefined;
}

const WHAT_TO_DO: Record<FaultCause, string> = {
  disk_full:
    'the disk holding the database is full. Free space on that volume (or grow it); writes resume by themselves, without a restart',
  read_only:
    'the database or its file system is read-only (a file system remounted read-only after an error, or a PostgreSQL standby after a failover). Make it writable again, or point DATABASE_URL at the primary; writes resume by themselves',
  io_error:
    'the disk holding the database reports I/O errors. Check the volume (kernel log, free space, health) before trusting it with more writes',
  database_unreachable:
    'the database does not answer (restarting, failing over, or unreachable). Palisade reconnects by itself',
  database_busy: 'the database stayed locked by other writers for too long. Retry shortly',
};

/** The 503 a caller sees for a fault: what happened, that nothing was changed, and what to do. */
export function faultError(fault: DatabaseFault): PalisadeError {
  const storage = fault.code === 'storage_unavailable';
  const message = `${storage ? 'Palisade cannot write to its database right now' : 'Palisade cannot reach its database right now'}: ${WHAT_TO_DO[fault.cause]}. Nothing was changed by this request; send it again in a moment. (${fault.engineCode ? `${fault.engineCode}: ` : ''}${fault.engineMessage})`;
  return new PalisadeError(503, fault.code, message, {
    details: { cause: fault.cause, engineCode: fault.engineCode || null },
    headers: { 'retry-after': storage ? '30' : '5' },
  });
}

// --- Storage health: the last fault seen on a database, until a write succeeds again -------------

export interface StorageHealth {
  writable: boolean;
  /** Set while not writable: the cause and the engine's words. */
  cause: FaultCause | null;
  detail: string | null;
  /** When writes started failing (ISO). */
  since: string | null;
  /** The last fault or successful write observed. */
  checkedAt: string | null;
}

const health = new WeakMap<object, StorageHealth>();
const healthy = (): StorageHealth => ({ writable: true, cause: null, detail: null, since: null, checkedAt: null });

export function storageHealthOf(db: Db): StorageHealth {
  return { ...(health.get(db) ?? healthy()) };
}

/** Records a fault a write met (a request, a job, the probe). Reads that fail are recorded too: the database is then unreachable. */
export function noteDatabaseFault(db: Db, fault: DatabaseFault, at: Date = new Date()): void {
  const prev = health.get(db) ?? healthy();
  health.set(db, {
    writable: false,
    cause: fault.cause,
    detail: `${fault.engineCode ? `${fault.engineCode}: ` : ''}${fault.engineMessage}`,
    since: prev.writable ? at.toISOString() : prev.since,
    checkedAt: at.toISOString(),
  });
}

export function noteWriteSucceeded(db: Db, at: Date = new Date()): void {
  health.set(db, { ...healthy(), checkedAt: at.toISOString() });
}

/** Records the outcome of an error that may be a fault; returns the fault when it was one. */
export function noteIfFault(db: Db, err: unknown, at?: Date): DatabaseFault | undefined {
  const fault = databaseFaultOf(err);
  if (fault) noteDatabaseFault(db, fault, at);
  return fault;
}

const PROBE_NODE = `${hostname()}:${process.pid}`;
const lastProbe = new WeakMap<object, number>();

/**
 * Writes one small row to learn whether the database accepts writes now (a full disk, a read-only
 * standby), at most every `minIntervalMs`. Never throws: the outcome is in the returned health.
 */
export async function probeStorage(db: Db, now: Date = new Date(), minIntervalMs = 5_000): Promise<StorageHealth> {
  const last = lastProbe.get(db) ?? 0;
  // While unwritable, probe more often: writes resume by themselves and health should say so soon.
  const interval = storageHealthOf(db).writable ? minIntervalMs : Math.min(minIntervalMs, 1_000);
  if (now.getTime() - last < interval) return storageHealthOf(db);
  lastProbe.set(db, now.getTime());
  try {
    await db
      .insertInto('storage_probes')
      .values({ node: PROBE_NODE, written_at: now.toISOString() })
      .onConflict((oc) => oc.column('node').doUpdateSet({ written_at: now.toISOString() }))
      .execute();
    noteWriteSucceeded(db, now);
  } catch (err) {
    const fault = databaseFaultOf(err);
    noteDatabaseFault(
      db,
      fault ?? {
        code: 'storage_unavailable',
        cause: 'io_error',
        engineCode: '',
        engineMessage: err instanceof Error ? err.message.slice(0, 300) : String(err),
      },
      now,
    );
  }
  return storageHealthOf(db);
}

/**
 * For bookkeeping writes a read does on the side (a token's last-used time): a full disk or a
 * read-only database must not turn the read into an error. Anything else is rethrown.
 */
export function unlessStorageFault(err: unknown): void {
  const fault = databaseFaultOf(err);
  if (fault && (fault.code === 'storage_unavailable' || fault.cause === 'database_busy')) return;
  throw err;
}
