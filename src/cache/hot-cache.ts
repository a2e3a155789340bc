import {
  type Dependencies,
  type InvalidationSource,
  type LoadReads,
  type Snapshot,
  type WatchedTable,
  invalidationSourceOf,
  loadReads,
} from './invalidation.js';

/**
 * A per-process, per-database cache of what the gateway reads on every request and what changes
 * rarely: a gateway key's owner, a member's access to an organization, the organization's IP
 * allowlist, workspace policy, prompt-excerpt tier and model provider.
 *
 * Correctness comes from the invalidation source (src/cache/invalidation.ts), not from the TTL: an
 * entry is stored with the source's token taken before its read began, and trusted only while the
 * token is unchanged, so a change committed before a lookup is always seen by it (same process: at
 * once; other processes: when the notification arrives, within milliseconds). A read that overlaps
 * a change is used once and not stored. The TTL is a safety net for the unforeseen (a change made
 * with the triggers disabled), and bounds how long a decrypted provider credential stays in memory.
 * Failures (an unknown key, a stranger, a missing provider: a load that throws or answers
 * undefined) are never cached.
 */
export const HOT_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  value: unknown;
  /** What the value depends on, and the version of that when its load began. */
  dependencies: Dependencies;
  version: number;
  expires: number;
}

export class HotCache {
  private readonly entries = new Map<string, Entry>();
  private readonly scopes = new WeakMap<object, Snapshot | null>();

  constructor(private readonly source: InvalidationSource) {}

  /**
   * The cached value for `key`, or `load()` (stored when nothing it read changed while it ran).
   * `scope` (one request's metadata object): the counters are read once per scope, so a request's
   * lookups cost one epoch read on SQLite, and all see the cache as it was when the request began.
   *
   * What a value depends on is what its load read: on PostgreSQL the statements of the load are
   * watched as they are sent (src/cache/invalidation.ts, loadReads), so a change to a table the load
   * did not read (a SCIM sync creating users does not touch the organization's policy) leaves it
   * cached. A lookup made inside another's load adds its own dependencies to the outer one's, hit or
   * miss, so a value built from cached parts is invalidated with them.
   */
  async through<T>(key: string, load: () => Promise<T>, scope?: object): Promise<T> {
    let before: Snapshot | null;
    if (scope && this.scopes.has(scope)) before = this.scopes.get(scope) as Snapshot | null;
    else {
      before = this.source.snapshot();
      if (scope) this.scopes.set(scope, before);
    }
    const outer = loadReads.getStore();
    const now = Date.now();
    const hit = this.entries.get(key);
    if (before && hit && hit.expires > now && before.versionOf(hit.dependencies) === hit.version) {
      if (outer) addDependencies(outer, hit.dependencies);
      return hit.value as T;
    }
    const reads: LoadReads = { tables: new Set<WatchedTable>(), all: false };
    const value = await loadReads.run(reads, load);
    // A copy: work the load left running (a timer, a queued write) must not change it later.
    const dependencies: Dependencies = reads.all ? 'all' : new Set(reads.tables);
    if (outer) addDependencies(outer, dependencies);
    if (!before) return value;
    // `undefined` (not found) is never stored: an unknown key or a missing row is asked again.
    const version = before.versionOf(dependencies);
    if (value !== undefined && version !== null && this.source.snapshot()?.versionOf(dependencies) === version) {
      this.entries.delete(key);
      this.entries.set(key, { value, dependencies, version, expires: now + HOT_CACHE_TTL_MS });
      if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    }
    return value;
  }

  /** Entries currently held (tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}

function addDependencies(into: LoadReads, dependencies: Dependencies): void {
  if (dependencies === 'all') into.all = true;
  else for (const t of dependencies) into.tables.add(t);
}

const CACHES = new WeakMap<object, HotCache>();

/** The cache of a database opened by src/db/connect.ts; undefined (read the database) for anything else, a transaction included. */
export function hotCacheOf(db: object): HotCache | undefined {
  const hit = CACHES.get(db);
  if (hit) return hit;
  const source = invalidationSourceOf(db);
  if (!source) return undefined;
  const cache = new HotCache(source);
  CACHES.set(db, cache);
  return cache;
}

/** Through the database's cache when it has one, else straight to `load`. */
export function cachedLookup<T>(db: object, key: string, load: () => Promise<T>, scope?: object): Promise<T> {
  const cache = hotCacheOf(db);
  return cache ? cache.through(key, load, scope) : load();
}
