import { type InvalidationSource, invalidationSourceOf } from './invalidation.js';

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
  token: number;
  expires: number;
}

export class HotCache {
  private readonly entries = new Map<string, Entry>();
  private lastToken: number | null = null;
  private readonly scopes = new WeakMap<object, number | null>();

  constructor(private readonly source: InvalidationSource) {}

  /**
   * The cached value for `key`, or `load()` (stored when nothing changed while it ran). `scope`
   * (one request's metadata object): the token is read once per scope, so a request's lookups cost
   * one epoch read on SQLite, and all see the cache as it was when the request began.
   */
  async through<T>(key: string, load: () => Promise<T>, scope?: object): Promise<T> {
    let token: number | null;
    if (scope && this.scopes.has(scope)) token = this.scopes.get(scope) as number | null;
    else {
      token = this.current();
      if (scope) this.scopes.set(scope, token);
    }
    if (token === null) return load();
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.token === token && hit.token === this.lastToken && hit.expires > now) return hit.value as T;
    const value = await load();
    // `undefined` (not found) is never stored: an unknown key or a missing row is asked again.
    if (value !== undefined && this.current() === token) {
      this.entries.delete(key);
      this.entries.set(key, { value, token, expires: now + HOT_CACHE_TTL_MS });
      if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    }
    return value;
  }

  /** Entries currently held (tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private current(): number | null {
    const token = this.source.token();
    // A new token makes every entry stale: drop them now rather than one by one.
    if (token !== this.lastToken) {
      this.entries.clear();
      this.lastToken = token;
    }
    return token;
  }
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
