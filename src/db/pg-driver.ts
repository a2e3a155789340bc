import {
  AbortedTransactionError,
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type pg from 'pg';
import { databaseFaultOf } from './faults.js';

/**
 * Kysely's PostgreSQL driver, with one difference: a pooled connection that the server ended while
 * it sat idle is replaced instead of failing the request that drew it.
 *
 * When PostgreSQL restarts, fails over, or ends sessions (pg_terminate_backend, a pooler's idle
 * timeout), every idle connection in the pool dies, and node-postgres learns of it only when the
 * server's goodbye is read, which may be after the pool has handed the connection out again. Each
 * of those connections would then fail one request with 503 although a fresh connection works.
 *
 * Which statements are sent again: only the first of a checkout, and only one that changes
 * nothing (BEGIN / START TRANSACTION, SELECT, SHOW). If such a statement fails because the
 * connection is gone, nothing it did can have survived: a transaction that had just begun, or a
 * read. A write sent on its own connection is never repeated: it might have committed before the
 * connection dropped, so its caller gets the 503 and decides. Each retry takes another connection
 * (the pool gives idle ones first, then opens new ones), at most once per pool slot plus one; a
 * server that cannot be reached fails at connect, as before.
 *
 * And one addition: write statements are prepared once per connection (PreparedWrites) unless
 * PALISADE_PG_PREPARED_STATEMENTS=false.
 */
export class ReplacingPostgresDriver implements Driver {
  readonly #pool: pg.Pool;
  readonly #maxReplacements: number;
  readonly #prepared: PreparedWrites | undefined;

  constructor(pool: pg.Pool, maxConnections: number, options: { preparedStatements?: boolean } = {}) {
    this.#pool = pool;
    this.#maxReplacements = maxConnections + 1;
    this.#prepared = options.preparedStatements === false ? undefined : new PreparedWrites();
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new ReplaceableConnection(this.#pool, await this.#pool.connect(), this.#maxReplacements, this.#prepared);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = 'begin';
    if (settings.isolationLevel || settings.accessMode) {
      statement = 'start transaction';
      if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) statement += ` ${settings.accessMode}`;
    }
    await connection.executeQuery(CompiledQuery.raw(statement));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const { rows } = await connection.executeQuery<{ command?: string }>(CompiledQuery.raw('commit'));
    // PostgreSQL completes COMMIT with a ROLLBACK tag when an earlier error left the transaction aborted.
    // Kysely's own error, which its controlled transactions recognize (they release the connection).
    if (rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('rollback'));
    } catch (err) {
      // A connection whose state is unknown never goes back to the pool.
      (connection as ReplaceableConnection).discard();
      throw err;
    }
  }

  async savepoint(
    connection: DatabaseConnection,
    name: string,
    _compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoted(name)}`));
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    _compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoted(name)}`));
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    _compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoted(name)}`));
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as ReplaceableConnection).release();
  }

  async destroy(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end();
  }
}

function quoted(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/**
 * Names for the write statements worth preparing. node-postgres sends a named statement's Parse
 * once per connection and afterwards only Bind/Execute, so the server skips parsing and planning it
 * again (measured: +6–11 % audit-producing requests/s, bench audit-concurrency). Only statements
 * that return no rows (INSERT, UPDATE, DELETE without RETURNING): a prepared statement whose result
 * columns change under it — `select *` after an expand migration adds a column during a rolling
 * upgrade — fails with "cached plan must not change result type", and writes have no result
 * columns; the server re-plans them by itself after any schema change. Texts with many parameters
 * (multi-row inserts, IN lists) differ from call to call and are not named, and the number of names
 * is bounded, so each connection holds at most MAX_PREPARED statements on the server.
 */
const MAX_PREPARED = 400;
const MAX_PREPARED_PARAMETERS = 40;
const PREPARABLE = /^(insert into|update|delete from) /;

class PreparedWrites {
  /** Statement text → its name; one name per text for the life of the process (node-postgres requires it). */
  readonly #names = new Map<string, string>();

  nameOf(compiled: CompiledQuery): string | undefined {
    if (compiled.parameters.length === 0 || compiled.parameters.length > MAX_PREPARED_PARAMETERS) return undefined;
    const known = this.#names.get(compiled.sql);
    if (known !== undefined) return known;
    if (this.#names.size >= MAX_PREPARED || !PREPARABLE.test(compiled.sql) || /\sreturning\s/i.test(compiled.sql))
      return undefined;
    const name = `palisade_w${this.#names.size}`;
    this.#names.set(compiled.sql, name);
    return name;
  }
}

/** Statements that change nothing, so that sending one again on a new connection is harmless. */
const REPEATABLE = /^\s*(begin|start\s+transaction|select|show)\b/i;

/** The connection died under the statement (ended by the server, reset), as opposed to an SQL error. */
function connectionLost(err: unknown): boolean {
  return databaseFaultOf(err)?.cause === 'database_unreachable';
}

class ReplaceableConnection implements DatabaseConnection {
  readonly #pool: pg.Pool;
  #client: pg.PoolClient | undefined;
  #replacementsLeft: number;
  /** Whether a statement has reached the server on this connection (then it holds state: a transaction, a lock). */
  #used = false;
  #discarded = false;
  readonly #prepared: PreparedWrites | undefined;

  constructor(pool: pg.Pool, client: pg.PoolClient, maxReplacements: number, prepared: PreparedWrites | undefined) {
    this.#pool = pool;
    this.#client = client;
    this.#replacementsLeft = maxReplacements;
    this.#prepared = prepared;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#discarded) throw new Error('this PostgreSQL connection was discarded after a failed rollback');
    for (;;) {
      const client = this.#client;
      if (!client) throw new Error('this PostgreSQL connection was lost and could not be replaced');
      try {
        const name = this.#prepared?.nameOf(compiled);
        const { command, rowCount, rows } = await (name
          ? client.query({ name, text: compiled.sql, values: [...compiled.parameters] })
          : client.query(compiled.sql, [...compiled.parameters]));
        this.#used = true;
        if (command === 'ROLLBACK' || command === 'COMMIT') return { rows: [{ command }] as R[] };
        return {
          numAffectedRows:
            command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE'
              ? BigInt(rowCount ?? 0)
              : undefined,
          rows: (rows ?? []) as R[],
        };
      } catch (err) {
        const replace =
          !this.#used && this.#replacementsLeft > 0 && REPEATABLE.test(compiled.sql) && connectionLost(err);
        if (!replace) {
          this.#used = true;
          throw err;
        }
        this.#replacementsLeft--;
        // Passing the error makes the pool destroy the client instead of keeping it.
        client.release(err as Error);
        this.#client = undefined;
        this.#client = await this.#pool.connect();
      }
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not configured for PostgreSQL in Palisade (read in pages instead)');
  }

  discard(): void {
    this.#discarded = true;
  }

  release(): void {
    // A discarded connection is destroyed by the pool, not reused.
    this.#client?.release(this.#discarded ? true : undefined);
    this.#client = undefined;
  }
}
