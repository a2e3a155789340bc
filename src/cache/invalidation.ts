import type {
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
  ValueNode,
  ValuesNode,
} from 'kysely';
import { AsyncLocalStorage } from 'node:async_hooks';
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
 *   A counter per table: a notification moves its table's. Writes made by this process are also
 *   seen as they are sent (a Kysely plugin): the table's counter moves at once and nothing that
 *   depends on it is stored for {@link LOCAL_WRITE_QUIET_MS}, so a request that follows a
 *   revocation in the same process never reads an entry loaded before the commit, even if this
 *   process's own notification has not arrived yet. The same plugin records which watched tables
 *   a cache load reads ({@link loadReads}): an entry depends on those only.
 * - SQLite: the triggers bump `cache_epoch`; the epoch is read (one prepared statement) before an
 *   entry is trusted, so a change is seen by the next lookup, whoever made it. One epoch for every
 *   table: any change empties everything (one process writes; the caches there save less).
 *
 * Either way a source hands out snapshots: entries are stored with the version of what they depend
 * on when their read began and trusted only while it is unchanged (src/cache/hot-cache.ts).
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
 * each); a table it watches invalidates the entries that read it, anything else every entry.
 */
export interface CacheNotification {
  schema: string;
  table: WatchedTable;
  /** An insert into users or memberships: the people it is about (migration 0028); absent or null: the whole table. */
  users?: string[] | null;
}

/**
 * Tables whose new rows concern only the people they name (migration 0028): an insert changes only
 * the cached values about those people. A value declares whom it is about (HotCache.through's
 * `about`); a value that does not is treated as about everyone.
 */
export const PER_PERSON_TABLES: ReadonlySet<WatchedTable> = new Set<WatchedTable>(['users', 'memberships']);

/** After a write by this process to a watched table, nothing that read the table is cached for this long (PostgreSQL). */
export const LOCAL_WRITE_QUIET_MS = 2_000;

/**
 * What a cached value depends on: the watched tables its load read (recorded as the load ran,
 * PostgreSQL), or 'all' when they are not known (SQLite, or a load that sent raw SQL).
 */
export type Dependencies = ReadonlySet<WatchedTable> | 'all';

/** The state of the invalidation counters at one moment (immutable). */
export interface Snapshot {
  /**
   * The version of what `dependencies` covers, for a value about `person` (undefined: about anyone
   * the tables hold); null: not cacheable now (a local write in flight).
   */
  versionOf(dependencies: Dependencies, person?: string): number | null;
  /**
   * Counts new rows about people seen so far: a value about a person is stored only when it did not
   * move while the value was read (the per-person counters are read live, not copied per snapshot).
   */
  readonly personEvents: number;
}

export interface InvalidationSource {
  /** The counters now; null: do not cache now (read the database). */
  snapshot(): Snapshot | null;
  close(): Promise<void>;
}

/**
 * The watched tables the statements of a cache load read (PostgreSQL): the load runs inside this
 * storage with a set of its own, and the plugin below adds every table a statement names. 'all'
 * once a statement's tables cannot be told (raw SQL).
 */
export const loadReads = new AsyncLocalStorage<LoadReads>();
export interface LoadReads {
  tables: Set<WatchedTable>;
  all: boolean;
  /** Whom the cached lookups made inside this load were about (undefined: anyone), for the outer value's own. */
  persons: Set<string | undefined>;
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

  snapshot(): Snapshot | null {
    try {
      this.stmt ??= this.handle.prepare('select epoch from cache_epoch where id = 1').pluck();
      const epoch = Number(this.stmt.get() ?? 0);
      // One epoch for every table: whatever a value depends on, any change is a new version.
      return { versionOf: () => epoch, personEvents: 0 };
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
  /** Bumped when anything may have changed unseen (a lost listener, an unreadable notification). */
  private generation = 0;
  /** Bumped by a change to one table (a notification, or this process's own write). */
  private readonly tableGenerations = new Map<WatchedTable, number>();
  private listening = false;
  /** After this process writes a table, values depending on it are not cached until then. */
  private readonly quietUntil = new Map<WatchedTable, number>();
  /**
   * New rows about people (PER_PERSON_TABLES): one counter per bucket of person ids (a bounded
   * array; two people sharing a bucket only cost each other a reload), a per-table counter for
   * values about anyone, and the quiet time after this process's own insert, per bucket and table.
   */
  private readonly personGenerations = new Uint32Array(PERSON_BUCKETS);
  private readonly personQuietUntil = new Float64Array(PERSON_BUCKETS);
  private readonly insertGenerations = new Map<WatchedTable, number>();
  private readonly insertQuietUntil = new Map<WatchedTable, number>();
  private personEvents = 0;
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

  snapshot(): Snapshot | null {
    if (!this.listening) {
      this.start();
      return null;
    }
    const at = Date.now();
    const global = this.generation;
    const generations = new Map(this.tableGenerations);
    const inserts = new Map(this.insertGenerations);
    const quiet = new Set<WatchedTable>();
    for (const [table, until] of this.quietUntil) if (at < until) quiet.add(table);
    const insertQuiet = new Set<WatchedTable>();
    for (const [table, until] of this.insertQuietUntil) if (at < until) insertQuiet.add(table);
    const persons = this.personGenerations;
    const personQuiet = this.personQuietUntil;
    return {
      personEvents: this.personEvents,
      versionOf: (dependencies, person) => {
        // A sum of counters that only grow changes whenever one of them does.
        let version = global;
        for (const table of dependencies === 'all' ? WATCHED_TABLES : dependencies) {
          if (quiet.has(table)) return null;
          version += generations.get(table) ?? 0;
          if (!PER_PERSON_TABLES.has(table)) continue;
          if (person === undefined) {
            if (insertQuiet.has(table)) return null;
            version += inserts.get(table) ?? 0;
          } else {
            const bucket = personBucket(person);
            if (at < (personQuiet[bucket] ?? 0)) return null;
            version += persons[bucket] ?? 0;
          }
        }
        return version;
      },
    };
  }

  /**
   * Called (by the plugin) as this process sends a statement that writes a watched table; `persons`:
   * an insert into a PER_PERSON_TABLES table whose people are known (values about others stay cached).
   */
  localWrite(table: WatchedTable | 'unknown', persons?: readonly string[]): void {
    const until = Date.now() + LOCAL_WRITE_QUIET_MS;
    if (table !== 'unknown' && persons && PER_PERSON_TABLES.has(table)) {
      this.inserted(table, persons);
      for (const person of persons) this.personQuietUntil[personBucket(person)] = until;
      this.insertQuietUntil.set(table, until);
      return;
    }
    for (const t of table === 'unknown' ? WATCHED_TABLES : [table]) {
      this.changed(t);
      this.quietUntil.set(t, until);
    }
  }

  private changed(table: WatchedTable): void {
    this.tableGenerations.set(table, (this.tableGenerations.get(table) ?? 0) + 1);
  }

  /** New rows about `persons` in a PER_PERSON_TABLES table. */
  private inserted(table: WatchedTable, persons: readonly string[]): void {
    for (const person of persons) {
      const bucket = personBucket(person);
      this.personGenerations[bucket] = (this.personGenerations[bucket] ?? 0) + 1;
    }
    this.insertGenerations.set(table, (this.insertGenerations.get(table) ?? 0) + 1);
    this.personEvents++;
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
    const table = n.table as WatchedTable | undefined;
    // New rows about named people change the values about them; a table it names otherwise, the
    // values that read it; anything else, every value.
    if (
      table !== undefined &&
      PER_PERSON_TABLES.has(table) &&
      Array.isArray(n.users) &&
      n.users.every((u) => typeof u === 'string')
    )
      this.inserted(table, n.users);
    else if (table !== undefined && WATCHED.has(table)) this.changed(table);
    else this.generation++;
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
        const written = writtenWatchedTable(args.node);
        if (written) this.localWrite(written, insertedPersons(args.node, written));
        const reads = loadReads.getStore();
        if (reads) recordReads(args.node, reads);
        return args.node;
      },
      transformResult: (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> =>
        Promise.resolve(args.result),
    };
  }
}

const WATCHED = new Set<string>(WATCHED_TABLES);

const PERSON_BUCKETS = 4096;
/** A person's bucket of counters (FNV-1a of the id). */
function personBucket(person: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < person.length; i++) h = Math.imul(h ^ person.charCodeAt(i), 0x01000193);
  return (h >>> 0) % PERSON_BUCKETS;
}

/** The column of a PER_PERSON_TABLES row that names its person (the same as migration 0028's triggers). */
const PERSON_COLUMN: Partial<Record<WatchedTable, string>> = { users: 'id', memberships: 'user_id' };

/**
 * The people a plain insert (VALUES of literal parameters, no upsert) into a PER_PERSON_TABLES table
 * is about; undefined when they cannot be told, and the write then counts for the whole table.
 */
function insertedPersons(node: RootOperationNode, table: WatchedTable | 'unknown'): string[] | undefined {
  if (table === 'unknown' || node.kind !== 'InsertQueryNode') return undefined;
  const column = PERSON_COLUMN[table];
  if (!column || node.onConflict || node.onDuplicateKey || node.replace) return undefined;
  const index = (node.columns ?? []).findIndex((c) => c.column.name === column);
  const values = node.values;
  if (index < 0 || values?.kind !== 'ValuesNode') return undefined;
  const persons: string[] = [];
  for (const row of (values as ValuesNode).values) {
    const value =
      row.kind === 'PrimitiveValueListNode'
        ? row.values[index]
        : row.values[index]?.kind === 'ValueNode'
          ? (row.values[index] as ValueNode).value
          : undefined;
    if (typeof value !== 'string') return undefined;
    persons.push(value);
  }
  return persons;
}
/** Updates of only other columns (last_used_at, sign-in bookkeeping) change nothing cached: the triggers skip them too. */
const UPDATE_OF: Partial<Record<WatchedTable, Set<string>>> = {
  gateway_keys: new Set(['revoked_at', 'token_hash', 'org_id', 'user_id']),
  api_tokens: new Set(['revoked_at', 'token_hash', 'user_id', 'expires_at']),
  scim_tokens: new Set(['revoked_at', 'token_hash', 'directory_id', 'expires_at']),
  users: new Set(['status', 'email']),
};
/** A watched table's name anywhere in a raw fragment (quoted, qualified or bare). */
const WATCHED_NAME = new RegExp(`\\b(${WATCHED_TABLES.join('|')})\\b`, 'gi');
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

/** The watched table a statement writes, if any ('unknown': raw SQL naming one, by a conservative pattern). */
function writtenWatchedTable(node: RootOperationNode): WatchedTable | 'unknown' | undefined {
  const watched = (name: string | undefined) =>
    name !== undefined && WATCHED.has(name) ? (name as WatchedTable) : undefined;
  switch (node.kind) {
    case 'InsertQueryNode':
      return watched(tableName(node.into));
    case 'UpdateQueryNode': {
      const table = watched(tableName(node.table));
      if (!table) return undefined;
      const only = UPDATE_OF[table];
      const relevant =
        !only ||
        (node.updates ?? []).some((u) => {
          const col = u.column as unknown as { kind: string; column?: { name?: string } };
          return col.kind !== 'ColumnNode' || only.has(col.column?.name ?? '');
        });
      return relevant ? table : undefined;
    }
    case 'DeleteQueryNode':
      for (const f of node.from.froms) {
        const table = watched(tableName(f));
        if (table) return table;
      }
      return undefined;
    case 'RawNode':
      return RAW_WRITE.test(node.sqlFragments.join(' ')) ? 'unknown' : undefined;
    default:
      return undefined;
  }
}

/**
 * Adds the watched tables a statement names anywhere (FROM, JOIN, subqueries) to a cache load's
 * reads. A whole statement in raw SQL may read anything (a function, a view): the load then depends
 * on every table. A raw fragment inside a built statement is not a source of rows unless it names
 * one (Kysely writes an order direction, `orderBy('version', 'desc')`, as a raw fragment; before this
 * was told apart, every load that sorted descending — an organization's current data key — depended
 * on every table and was never kept through a SCIM sync): it adds the watched tables its text names,
 * and the nodes it embeds are walked like any other. Palisade defines no SQL function or view that
 * reads a watched table, so a fragment cannot read one without naming it.
 */
function recordReads(node: OperationNode, reads: LoadReads): void {
  if (node.kind === 'RawNode') {
    reads.all = true;
    return;
  }
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const n = value as { kind?: unknown };
    if (n.kind === 'TableNode') {
      const name = tableName(n as OperationNode);
      if (name !== undefined && WATCHED.has(name)) reads.tables.add(name as WatchedTable);
      return;
    }
    if (n.kind === 'RawNode')
      for (const fragment of (n as unknown as { sqlFragments: readonly string[] }).sqlFragments)
        for (const m of fragment.matchAll(WATCHED_NAME)) reads.tables.add((m[1] ?? '').toLowerCase() as WatchedTable);
    for (const v of Object.values(value)) visit(v);
  };
  visit(node);
}
