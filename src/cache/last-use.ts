/**
 * "Last used" times of credentials read through the per-process cache (src/cache/hot-cache.ts) are
 * written at most once a minute per credential. The cached row keeps the time it was read with
 * (`last_used_at` is not watched, so writing it does not flush the cache), so each process also
 * remembers what it wrote since.
 */
export class LastUseRecorder {
  private readonly written = new Map<string, number>();

  /** Whether `id`'s use at `now` should be written; when it should, it counts as written from now. */
  due(id: string, storedLastUsedAt: string | null, now: Date): boolean {
    const last = Math.max(storedLastUsedAt ? new Date(storedLastUsedAt).getTime() : 0, this.written.get(id) ?? 0);
    if (last >= now.getTime() - 60_000) return false;
    if (this.written.size >= 10_000) this.written.clear();
    this.written.set(id, now.getTime());
    return true;
  }
}
