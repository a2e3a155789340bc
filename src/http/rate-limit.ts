import { isIP } from 'node:net';
import type { Clock } from '../clock.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { purgeLoginThrottle } from '../auth/throttle.js';
import type { JobDefinition } from '../jobs/scheduler.js';

/**
 * Fixed-window request counters in the database (`rate_limit_counters`), so several Palisade
 * processes on one database share them, like the login throttle (src/auth/throttle.ts). Counting
 * and checking is one atomic upsert per request: two processes cannot both take the last slot.
 * Used for the unauthenticated login discovery (per client network) and for manual domain
 * verification (per domain).
 */
export interface RateLimit {
  /** What is limited; part of the counter's key. */
  bucket: 'login_discover' | 'domain_verify';
  /** Who or what within the bucket (a client network, a domain id). */
  key: string;
  /** Requests allowed per window; the next one is refused. */
  limit: number;
  windowSeconds: number;
}

export interface RateLimitRefusal {
  code: string;
  /** Says what was limited; the wait and the limit are appended. */
  message: string;
}

function windowStart(clock: Clock, windowSeconds: number): Date {
  const ms = windowSeconds * 1000;
  return new Date(Math.floor(clock.now().getTime() / ms) * ms);
}

/**
 * Counts one request and refuses it with `429 code` once more than `limit` arrived in the current
 * window: `Retry-After` (seconds to the end of the window), and the same figure in the message and
 * in `details.retryAfterSeconds`.
 */
export async function consumeRateLimit(db: Queryable, clock: Clock, rl: RateLimit, refusal: RateLimitRefusal): Promise<{ hits: number; remaining: number }> {
  const startDate = windowStart(clock, rl.windowSeconds);
  const start = startDate.toISOString();
  const row = await db
    .insertInto('rate_limit_counters')
    .values({ bucket: rl.bucket, key: rl.key, window_start: start, hits: 1 })
    .onConflict((oc) =>
      oc.columns(['bucket', 'key']).doUpdateSet((eb) => ({
        // The same window adds one; a new window starts again at one.
        hits: eb.case().when('rate_limit_counters.window_start', '=', start).then(eb('rate_limit_counters.hits', '+', 1)).else(1).end(),
        window_start: start,
      })),
    )
    .returning('hits')
    .executeTakeFirstOrThrow();
  const hits = Number(row.hits);
  if (hits <= rl.limit) return { hits, remaining: rl.limit - hits };
  const retryAfter = Math.max(1, Math.ceil((startDate.getTime() + rl.windowSeconds * 1000 - clock.now().getTime()) / 1000));
  throw new PalisadeError(429, refusal.code, `${refusal.message} The limit is ${rl.limit} per ${rl.windowSeconds} seconds; wait ${retryAfter} seconds and try again.`, {
    headers: { 'retry-after': String(retryAfter) },
    details: { retryAfterSeconds: retryAfter, limit: rl.limit, windowSeconds: rl.windowSeconds },
  });
}

/**
 * The client network a per-address limit counts against: the IPv4 address itself, and the /64 for
 * IPv6 (one subscriber usually holds a whole /64, so counting single IPv6 addresses would let one
 * client rotate through 2^64 of them). IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export function clientNetworkKey(ip: string | null): string {
  if (!ip) return 'unknown';
  const bare = ip.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(bare);
  if (mapped?.[1]) return mapped[1];
  if (isIP(bare) === 4) return bare;
  if (isIP(bare) !== 6) return `other:${bare.slice(0, 64)}`;
  const groups = expandIpv6(bare);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIpv6(address: string): string[] {
  const toGroups = (part: string): string[] => {
    if (!part) return [];
    const pieces = part.split(':');
    const last = pieces[pieces.length - 1] ?? '';
    if (last.includes('.')) {
      // Embedded IPv4 in the last 32 bits.
      const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
      pieces.splice(pieces.length - 1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    }
    return pieces;
  };
  const [head = '', tail] = address.split('::');
  const h = toGroups(head);
  const t = tail === undefined ? [] : toGroups(tail);
  const zeros = Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0');
  return [...h, ...zeros, ...t].map((g) => g.padStart(4, '0'));
}

/** Counters whose window ended a day ago are of no use; deleting them keeps the table small. */
export async function purgeRateLimitCounters(db: Queryable, now: Date): Promise<{ deleted: number }> {
  const cutoff = new Date(now.getTime() - 86_400_000).toISOString();
  const res = await db.deleteFrom('rate_limit_counters').where('window_start', '<', cutoff).executeTakeFirst();
  return { deleted: Number(res.numDeletedRows) };
}

export function rateLimitCleanupJob(): JobDefinition {
  return {
    name: 'rate_limits.cleanup',
    intervalMs: 3_600_000,
    run: async (ctx) => {
      const now = ctx.clock.now();
      const counters = await purgeRateLimitCounters(ctx.db, now);
      const throttle = await purgeLoginThrottle(ctx.db, now, ctx.config.loginThrottleWindowMinutes);
      return { deleted: counters.deleted, loginThrottleDeleted: throttle.deleted };
    },
  };
}
