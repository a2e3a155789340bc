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
 */
export class ReplacingPostgresDriver implements Driver {
  readonly #pool: pg.Pool;
  readonly #maxReplacements: number;

  constructor(pool: pg.Pool, maxConnections: number) {
    this.#pool = pool;
    this.#maxReplacements = maxConnections + 1;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new ReplaceableConnection(this.#pool, await this.#pool.connect(), this.#maxReplacements);
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

  constructor(pool: pg.Pool, client: pg.PoolClient, maxReplacements: number) {
    this.#pool = pool;
    this.#client = client;
    this.#replacementsLeft = maxReplacements;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#discarded) throw new Error('this PostgreSQL connection was discarded after a failed rollback');
    for (;;) {
      const client = this.#client;
      if (!client) throw new Error('this PostgreSQL connection was lost and could not be replaced');
      try {
        const { command, rowCount, rows } = await client.query(compiled.sql, [...compiled.parameters]);
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
