import {
  type Dependencies,
  type InvalidationSource,
  type LoadReads,
  type Snapshot,
  PER_PERSON_TABLES,
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
  /** Whom it is about, for the tables whose new rows concern only their people (PER_PERSON_TABLES). */
  person: string | undefined;
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
   *
   * `about`: the person a value is about, when the load reads users and memberships only for that
   * person (a key's owner, a member's own memberships): a new user or membership of someone else then
   * leaves it cached (migration 0028). Without it, or when a lookup inside the load was about someone
   * else, any new row in those tables reloads it.
   */
  async through<T>(
    key: string,
    load: () => Promise<T>,
    scope?: object,
    about?: (value: T) => string | undefined,
  ): Promise<T> {
    let before: Snapshot | null;
    if (scope && this.scopes.has(scope)) before = this.scopes.get(scope) as Snapshot | null;
    else {
      before = this.source.snapshot();
      if (scope) this.scopes.set(scope, before);
    }
    const outer = loadReads.getStore();
    const now = Date.now();
    const hit = this.entries.get(key);
    if (before && hit && hit.expires > now && before.versionOf(hit.dependencies, hit.person) === hit.version) {
      if (outer) addDependencies(outer, hit.dependencies, hit.person);
      return hit.value as T;
    }
    const reads: LoadReads = { tables: new Set<WatchedTable>(), all: false, persons: new Set() };
    const value = await loadReads.run(reads, load);
    // A copy: work the load left running (a timer, a queued write) must not change it later.
    const dependencies: Dependencies = reads.all ? 'all' : new Set(reads.tables);
    let person = value !== undefined && about ? about(value) : undefined;
    for (const inner of reads.persons) if (inner !== person) person = undefined;
    if (outer) addDependencies(outer, dependencies, person);
    if (!before) return value;
    // `undefined` (not found) is never stored: an unknown key or a missing row is asked again.
    const version = before.versionOf(dependencies, person);
    const after = this.source.snapshot();
    if (
      value !== undefined &&
      version !== null &&
      after?.versionOf(dependencies, person) === version &&
      // A person's counters are read live: none may have moved while the value was read.
      (person === undefined || after.personEvents === before.personEvents)
    ) {
      this.entries.delete(key);
      this.entries.set(key, { value, dependencies, person, version, expires: now + HOT_CACHE_TTL_MS });
      if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    }
    return value;
  }

  /** Entries currently held (tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}

function addDependencies(into: LoadReads, dependencies: Dependencies, person: string | undefined): void {
  let aboutPeople = dependencies === 'all';
  if (dependencies === 'all') into.all = true;
  else
    for (const t of dependencies) {
      into.tables.add(t);
      if (PER_PERSON_TABLES.has(t)) aboutPeople = true;
    }
  if (aboutPeople) into.persons.add(person);
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

/** Through the database's cache when it has one, else straight to `load` (`about`: see HotCache.through). */
export function cachedLookup<T>(
  db: object,
  key: string,
  load: () => Promise<T>,
  scope?: object,
  about?: (value: T) => string | undefined,
): Promise<T> {
  const cache = hotCacheOf(db);
  return cache ? cache.through(key, load, scope, about) : load();
}
