import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { type DatabaseConnection, type Driver, Kysely, SqliteDialect, SqliteDriver, sql } from 'kysely';
import type { PalisadeConfig } from '../config.js';
import { SearchPathPostgresDialect } from './introspector.js';
import pg from 'pg';
import type { DB } from './schema.js';
import { noteIfFault } from './faults.js';
import { PgNotifySource, SqliteEpochSource, registerInvalidationSource } from '../cache/invalidation.js';

export type DialectName = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<DB>;
  dialect: DialectName;
  /** PostgreSQL schema the connection is pinned to, when not the default. */
  schema: string | undefined;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** PostgreSQL only: pin every connection to this schema (created if missing). Tests use one per run. */
  pgSchema?: string;
  pgPoolSize?: number;
  /** PostgreSQL only: name (prepare once per connection) the write statements without RETURNING. Default true. */
  pgPreparedStatements?: boolean;
}

/** The options an installation's configuration sets for its database connections. */
export function openOptionsFrom(config: Pick<PalisadeConfig, 'pgPreparedStatements' | 'pgPoolSize'>): OpenOptions {
  return { pgPreparedStatements: config.pgPreparedStatements, pgPoolSize: config.pgPoolSize };
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url, options);
  return openSqlite(url);
}

const SQLITE_HANDLES = new WeakMap<object, SQLite.Database>();
const PG_POOLS = new WeakMap<object, pg.Pool>();

/** The pg pool behind a PostgreSQL Kysely instance, for bulk paths that need COPY (palisade db copy). */
export function pgPoolOf(db: object): pg.Pool | undefined {
  return PG_POOLS.get(db);
}

/**
 * The better-sqlite3 handle behind a SQLite Kysely instance, for hot paths that reuse prepared
 * statements (the audit write path). SQLite has one connection: inside a Kysely transaction on this
 * instance, statements run on the handle are part of that transaction.
 */
export function sqliteHandleOf(db: object): SQLite.Database | undefined {
  return SQLITE_HANDLES.get(db);
}

/** The file a sqlite: DATABASE_URL names (absolute), or ':memory:'; undefined for PostgreSQL. */
export function sqlitePathOf(url: string): string | undefined {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return undefined;
  return url === ':memory:' || url === 'sqlite::memory:' ? ':memory:' : resolve(url.replace(/^sqlite:(\/\/)?/, ''));
}

function openSqlite(url: string): Database {
  const path = sqlitePathOf(url) ?? ':memory:';
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const handle = new SQLite(path);
  // 8 KiB pages (applies to a new file only): shallower B-trees for the audit table's indexes.
  handle.pragma('page_size = 8192');
  handle.pragma('journal_mode = WAL');
  // 64 MiB page cache instead of SQLite's 2 MiB: the audit indexes insert at many points at once
  // (one per actor, action, IP, target), and at millions of events those pages no longer fit.
  handle.pragma('cache_size = -65536');
  handle.pragma('synchronous = NORMAL');
  handle.pragma('foreign_keys = ON');
  // Deleted and overwritten rows are zeroed in their page instead of lingering in free space:
  // crypto-erasure destroys a content key by deleting its row, which must not survive in the file.
  handle.pragma('secure_delete = ON');
  handle.pragma('busy_timeout = 5000');
  const db = new Kysely<DB>({ dialect: new FaultTolerantSqliteDialect(handle) });
  SQLITE_HANDLES.set(db, handle);
  const invalidation = new SqliteEpochSource(handle);
  registerInvalidationSource(db, invalidation);
  return {
    db,
    dialect: 'sqlite',
    schema: undefined,
    close: async () => {
      await invalidation.close();
      await db.destroy();
    },
  };
}

/**
 * SQLite rolls a transaction back by itself when a statement or the COMMIT fails with SQLITE_FULL,
 * SQLITE_IOERR or SQLITE_NOMEM; Kysely's ROLLBACK then fails with "cannot rollback - no
 * transaction is active", and that error replaced the one that says why (a full disk answered 500
 * instead of 503 storage_unavailable). The ROLLBACK is skipped when nothing is left to roll back.
 */
class FaultTolerantSqliteDriver extends SqliteDriver {
  constructor(private readonly handle: SQLite.Database) {
    super({ database: withStatementCache(handle) });
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.handle.inTransaction) return;
    await super.rollbackTransaction(connection);
  }
}

/**
 * Kysely asks SQLite to prepare every query afresh; on the hot paths (a session lookup, a key
 * check, an audit row) preparing costs as much as running. Statements are cached by their SQL text
 * (Kysely compiles parameters out of the text, so one query shape is one entry), least recently used
 * first out. A statement still being iterated (a streamed export) is busy: the same SQL then gets a
 * fresh statement rather than disturbing it. SQLite re-prepares a cached statement by itself after
 * a schema change.
 */
const STATEMENT_CACHE_MAX = 1000;

function withStatementCache(handle: SQLite.Database): { prepare(sql: string): SQLite.Statement; close(): void } {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      cache.clear();
      handle.close();
    },
    prepare(sql: string): SQLite.Statement {
      const hit = cache.get(sql);
      if (hit && !hit.busy) {
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const st = handle.prepare(sql);
      if (!hit) {
        cache.set(sql, st);
        if (cache.size > STATEMENT_CACHE_MAX) cache.delete(cache.keys().next().value as string);
      }
      return st;
    },
  };
}

class FaultTolerantSqliteDialect extends SqliteDialect {
  constructor(private readonly handle: SQLite.Database) {
    super({ database: handle });
  }

  override createDriver(): Driver {
    return new FaultTolerantSqliteDriver(this.handle);
  }
}

async function openPostgres(url: string, options: OpenOptions): Promise<Database> {
  const schema = options.pgSchema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name ${schema}`);
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`create schema if not exists "${schema}"`);
    } finally {
      await admin.end();
    }
  }
  const maxConnections = options.pgPoolSize ?? 10;
  const pool = new pg.Pool({
    connectionString: url,
    max: maxConnections,
    // While the server restarts or fails over, a request waits at most this long for a connection
    // and then fails cleanly (503 database_unavailable) instead of hanging.
    connectionTimeoutMillis: 5_000,
    // TCP keepalive: a server that vanished without closing (failover, network cut) is noticed.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    idleTimeoutMillis: 30_000,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    // bigint columns (sequence numbers, counts) come back as numbers; they stay far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // The gateway's caches hear of changes through LISTEN/NOTIFY and this process's own writes (src/cache/invalidation.ts).
  const invalidation = new PgNotifySource(url, schema);
  const db = new Kysely<DB>({
    dialect: new SearchPathPostgresDialect({
      pool,
      maxConnections,
      preparedStatements: options.pgPreparedStatements ?? true,
    }),
    plugins: [invalidation.plugin()],
  });
  PG_POOLS.set(db, pool);
  registerInvalidationSource(db, invalidation);
  // An idle connection the server closes (a restart, a failover, a network cut) is reported here; the
  // pool has already dropped it and the next query opens a new one. Without a listener the pool's
  // 'error' event would end the process.
  pool.on('error', (err) => noteIfFault(db, err));
  // The same for a connection in use (checked out between two statements of a transaction): the
  // statement that uses it next fails (503 database_unavailable) and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', (err) => noteIfFault(db, err)));
  return {
    db,
    dialect: 'postgres',
    schema,
    close: async () => {
      await invalidation.close();
      await db.destroy();
    },
  };
}

/** Drops a PostgreSQL schema created for a test run. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name ${schema}`);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await admin.end();
  }
}

export async function ping(database: Database): Promise<void> {
  await sql`select 1`.execute(database.db);
}
