import type {
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import type SQLite from 'better-sqlite3';
import pg from 'pg';

/**
 * How a process learns that something its caches hold (src/cache/hot-cache.ts) changed in the
 * database. The database itself reports every change (migration 0023 installs the triggers), so no
 * writer has to remember to: a route, SCIM, an admin's CLI command in another process, raw SQL.
 *
 * - PostgreSQL: the triggers send, on channel {@link CACHE_CHANNEL}, a {@link CacheNotification}
 *   (JSON text) per statement that changed a watched table. PostgreSQL delivers it only when the
 *   transaction commits, to every listening connection; each process keeps ONE listener connection
 *   (opened on first use, reopened after a loss). While it is not listening, nothing is cached.
 *   Writes made by this process are also seen as they are sent (a Kysely plugin): the cache is
 *   emptied at once and nothing is stored for {@link LOCAL_WRITE_QUIET_MS}, so a request that
 *   follows a revocation in the same process never reads an entry loaded before the commit, even
 *   if this process's own notification has not arrived yet.
 * - SQLite: the triggers bump `cache_epoch`; the epoch is read (one prepared statement) before an
 *   entry is trusted, so a change is seen by the next lookup, whoever made it.
 *
 * Either way a source hands out a token: entries are stored with the token current when their
 * read began and trusted only while it is unchanged (src/cache/hot-cache.ts).
 */
export const CACHE_CHANNEL = 'palisade_cache';

/** The tables whose changes empty the caches (the triggers of migration 0023 watch the same). */
export const WATCHED_TABLES = [
  'gateway_keys',
  'api_tokens',
  'scim_tokens',
  'scim_directories',
  'users',
  'memberships',
  'organizations',
  'workspace_settings',
  'gateway_upstreams',
  'audit_content_settings',
  'org_data_keys',
] as const;
export type WatchedTable = (typeof WATCHED_TABLES)[number];

/**
 * The payload of a notification on {@link CACHE_CHANNEL}: the schema and table a committed
 * statement changed. A process ignores other schemas (test runs share one database, one schema
 * each); any table it watches empties its caches (changes are rare next to the reads they save).
 */
export interface CacheNotification {
  schema: string;
  table: WatchedTable;
}

/** After a write by this process to a watched table, nothing is cached for this long (PostgreSQL). */
export const LOCAL_WRITE_QUIET_MS = 2_000;

export interface InvalidationSource {
  /** Changes whenever cached data may have changed; null: do not cache now (read the database). */
  token(): number | null;
  close(): Promise<void>;
}

const SOURCES = new WeakMap<object, InvalidationSource>();

/** The invalidation source of a database opened by src/db/connect.ts; undefined: do not cache. */
export function invalidationSourceOf(db: object): InvalidationSource | undefined {
  return SOURCES.get(db);
}

export function registerInvalidationSource(db: object, source: InvalidationSource): void {
  SOURCES.set(db, source);
}

/** SQLite: the epoch row the triggers bump. One connection, one process writing (plus CLI commands). */
export class SqliteEpochSource implements InvalidationSource {
  private stmt: SQLite.Statement | null = null;

  constructor(private readonly handle: SQLite.Database) {}

  token(): number | null {
    try {
      this.stmt ??= this.handle.prepare('select epoch from cache_epoch where id = 1').pluck();
      return Number(this.stmt.get() ?? 0);
    } catch {
      // Not migrated yet (or closed): no caching rather than a cache nothing invalidates.
      return null;
    }
  }

  async close(): Promise<void> {
    this.stmt = null;
  }
}

/** PostgreSQL: one LISTEN connection per process, plus this process's own writes seen as they go out. */
export class PgNotifySource implements InvalidationSource {
  private generation = 0;
  private listening = false;
  private quietUntil = 0;
  private client: pg.Client | null = null;
  private starting = false;
  private closed = false;
  private schema: string | null = null;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly searchPath: string | undefined,
    /** Test hook: notifications seen, for a test that proves the listener path alone. */
    readonly seen: CacheNotification[] = [],
  ) {}

  token(): number | null {
    if (!this.listening) {
      this.start();
      return null;
    }
    if (Date.now() < this.quietUntil) return null;
    return this.generation;
  }

  /** Called (by the plugin) as this process sends a statement that writes a watched table. */
  localWrite(): void {
    this.generation++;
    this.quietUntil = Date.now() + LOCAL_WRITE_QUIET_MS;
  }

  /** Whether this process listens now (tests wait for it before relying on the caches). */
  get ready(): boolean {
    return this.listening;
  }

  private start(): void {
    if (this.starting || this.closed || this.listening) return;
    this.starting = true;
    const client = new pg.Client({
      connectionString: this.url,
      keepAlive: true,
      ...(this.searchPath ? { options: `-c search_path=${this.searchPath}` } : {}),
    });
    client.on('notification', (msg) => {
      if (msg.channel === CACHE_CHANNEL) this.onNotification(msg.payload);
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    void (async () => {
      try {
        await client.connect();
        const r = await client.query<{ schema: string }>('select current_schema() as schema');
        this.schema = r.rows[0]?.schema ?? null;
        await client.query(`listen ${CACHE_CHANNEL}`);
        if (this.closed) {
          await client.end();
          return;
        }
        this.client = client;
        // Whatever changed while nobody listened is unknown: start from an empty cache.
        this.generation++;
        this.listening = true;
      } catch {
        this.lost(client);
      } finally {
        this.starting = false;
      }
    })();
  }

  private onNotification(payload: string | undefined): void {
    let n: Partial<CacheNotification> = {};
    try {
      n = JSON.parse(payload ?? '{}') as Partial<CacheNotification>;
    } catch {
      // An unreadable payload still means something changed.
    }
    if (n.schema !== undefined && this.schema !== null && n.schema !== this.schema) return;
    this.seen.push({ schema: String(n.schema), table: n.table as WatchedTable });
    if (this.seen.length > 100) this.seen.shift();
    this.generation++;
  }

  private lost(client: pg.Client): void {
    // A lost listener may have missed notifications: stop caching until a new one listens.
    this.generation++;
    if (this.client === client) this.client = null;
    this.listening = false;
    client.end().catch(() => undefined);
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.start();
    }, 1_000);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    if (this.retry) clearTimeout(this.retry);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  /** Sees this process's writes to watched tables as they are sent (before they commit). */
  plugin(): KyselyPlugin {
    return {
      transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => {
        if (writesWatchedTable(args.node)) this.localWrite();
        return args.node;
      },
      transformResult: (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> =>
        Promise.resolve(args.result),
    };
  }
}

const WATCHED = new Set<string>(WATCHED_TABLES);
/** Updates of only other columns (last_used_at, sign-in bookkeeping) change nothing cached: the triggers skip them too. */
const UPDATE_OF: Partial<Record<WatchedTable, Set<string>>> = {
  gateway_keys: new Set(['revoked_at', 'token_hash', 'org_id', 'user_id']),
  api_tokens: new Set(['revoked_at', 'token_hash', 'user_id', 'expires_at']),
  scim_tokens: new Set(['revoked_at', 'token_hash', 'directory_id', 'expires_at']),
  users: new Set(['status', 'email']),
};
const RAW_WRITE = new RegExp(
  `\\b(?:update|insert\\s+into|delete\\s+from|truncate(?:\\s+table)?)\\s+(?:"?\\w+"?\\.)?"?(${WATCHED_TABLES.join('|')})\\b`,
  'i',
);

function tableName(node: OperationNode | undefined): string | undefined {
  if (!node) return undefined;
  if (node.kind === 'TableNode')
    return (node as unknown as { table: { identifier: { name: string } } }).table.identifier.name;
  if (node.kind === 'AliasNode') return tableName((node as unknown as { node: OperationNode }).node);
  return undefined;
}

/** Whether a statement writes one of the watched tables (raw SQL: by a conservative pattern). */
export function writesWatchedTable(node: RootOperationNode): boolean {
  switch (node.kind) {
    case 'InsertQueryNode':
      return WATCHED.has(tableName(node.into) ?? '');
    case 'UpdateQueryNode': {
      const table = tableName(node.table) ?? '';
      if (!WATCHED.has(table)) return false;
      const only = UPDATE_OF[table as WatchedTable];
      return (
        !only ||
        (node.updates ?? []).some((u) => {
          const col = u.column as unknown as { kind: string; column?: { name?: string } };
          return col.kind !== 'ColumnNode' || only.has(col.column?.name ?? '');
        })
      );
    }
    case 'DeleteQueryNode':
      return node.from.froms.some((f) => WATCHED.has(tableName(f) ?? ''));
    case 'RawNode':
      return RAW_WRITE.test(node.sqlFragments.join(' '));
    default:
      return false;
  }
}
