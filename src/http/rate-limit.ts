import type { CodeWithStatus } from '../error-catalog.js';
import { isIP } from 'node:net';
import { sql } from 'kysely';
import type { Clock } from '../clock.js';
import type { PalisadeConfig } from '../config.js';
import { redisClearCounter, redisCounter, redisRefundSlot, redisTakeSlot } from './rate-limit-redis.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError } from '../errors.js';

/**
 * Every limiter in Palisade (sign-in failures, login discovery, domain verification, bad tokens,
 * password resets) counts in `throttle_counters`, shared by every process on the database.
 *
 * Sliding window: each counter keeps the hits of the current fixed window and of the one before;
 * the estimate is `prev × (share of the previous window still inside the sliding window) + hits`.
 * A limit reached just before a window boundary therefore still holds just after it (a fixed window
 * would unlock the account seconds after it was locked), and lifts gradually as old hits age out.
 *
 * Atomic: taking a slot is one upsert whose update only applies while the estimate is under the
 * limit (`ON CONFLICT … DO UPDATE … WHERE`, which PostgreSQL re-evaluates on the locked, latest row
 * version and SQLite runs under its single writer), so N simultaneous requests get at most `limit`
 * slots, on one process as on several. A refused attempt takes no slot: continued hammering does not
 * extend the wait forever, and counts stay bounded.
 */
export type ThrottleBucket =
  | 'login_account'
  | 'login_ip'
  | 'login_discover'
  | 'domain_verify'
  | 'bad_token'
  | 'password_reset_ip'
  | 'password_reset_address'
  | 'email_verification_address'
  | 'password_change'
  | 'compliance_key';

export interface RateLimit {
  /** What is limited; part of the counter's key. */
  bucket: ThrottleBucket;
  /** Who or what within the bucket (an account, a client network, a domain id). */
  key: string;
  /** Requests allowed per sliding window; the next one is refused. */
  limit: number;
  windowSeconds: number;
}

export interface RateLimitRefusal {
  code: CodeWithStatus<429>;
  /** Says what was limited; the wait and the limit are appended. */
  message: string;
}

/**
 * Where a limit counts: the database (`throttle_counters`, the default), or Redis when
 * PALISADE_REDIS_URL is set (src/http/rate-limit-redis.ts). A request context (`Ctx`) is one.
 */
export interface LimitScope {
  db: Queryable;
  clock: Clock;
  config: Pick<PalisadeConfig, 'redisUrl' | 'redisKeyPrefix'>;
}

interface Window {
  nowMs: number;
  windowMs: number;
  /** Start of the current fixed window. */
  current: number;
  /** Weight of the previous window's hits at this moment (1 at the start of the window, 0 at its end). */
  prevWeight: number;
}

function windowAt(clock: Clock, windowSeconds: number): Window {
  const nowMs = clock.now().getTime();
  const windowMs = windowSeconds * 1000;
  const current = Math.floor(nowMs / windowMs) * windowMs;
  return { nowMs, windowMs, current, prevWeight: 1 - (nowMs - current) / windowMs };
}

/** The estimate of a stored counter at `w` (before any new hit). */
function estimate(row: { window_ms: number; hits: number; prev_hits: number }, w: Window): number {
  const at = Number(row.window_ms);
  if (at === w.current) return row.prev_hits * w.prevWeight + row.hits;
  if (at === w.current - w.windowMs) return row.hits * w.prevWeight;
  return 0;
}

/** Seconds until the estimate leaves room for one more hit. */
function secondsUntilRoom(
  row: { window_ms: number; hits: number; prev_hits: number },
  w: Window,
  limit: number,
): number {
  const room = limit - 1;
  const at = Number(row.window_ms);
  // Roll the stored counter to the current window first.
  let prev = at === w.current ? row.prev_hits : at === w.current - w.windowMs ? row.hits : 0;
  let hits = at === w.current ? row.hits : 0;
  let start = w.current;
  for (let step = 0; step < 3; step++) {
    if (hits <= room) {
      // prev × (1 − (t − start)/W) + hits ≤ room  ⇔  t ≥ start + W × (1 − (room − hits)/prev)
      const t = prev > 0 ? start + w.windowMs * Math.max(0, 1 - (room - hits) / prev) : start;
      return Math.max(1, Math.ceil((Math.max(t, w.nowMs) - w.nowMs) / 1000));
    }
    prev = hits;
    hits = 0;
    start += w.windowMs;
  }
  return Math.ceil((start - w.nowMs) / 1000);
}

/** The 429 for a limit that has no room, with Retry-After and the same figure in the message and details. */
export function rateLimited(rl: RateLimit, refusal: RateLimitRefusal, retryAfter: number): PalisadeError {
  return new PalisadeError(
    429,
    refusal.code,
    `${refusal.message} The limit is ${rl.limit} per ${rl.windowSeconds} seconds; wait ${retryAfter} seconds and try again.`,
    {
      headers: { 'retry-after': String(retryAfter) },
      details: { retryAfterSeconds: retryAfter, limit: rl.limit, windowSeconds: rl.windowSeconds },
    },
  );
}

/**
 * Takes one slot atomically, or returns how long to wait. Use `consumeRateLimit` unless the caller
 * must decide what the refusal looks like (the login throttle, which names account or address).
 */
export async function takeSlot(
  scope: LimitScope,
  rl: RateLimit,
): Promise<{ ok: true } | { ok: false; retryAfter: number }> {
  const { db, clock, config } = scope;
  const w = windowAt(clock, rl.windowSeconds);
  if (config.redisUrl) {
    const r = await redisTakeSlot(config.redisUrl, config.redisKeyPrefix, rl.bucket, rl.key, w, rl.limit);
    return r.ok ? r : { ok: false, retryAfter: secondsUntilRoom(r.state, w, rl.limit) };
  }
  const previous = w.current - w.windowMs;
  const t = sql.ref('throttle_counters');
  // Double precision on both engines (PostgreSQL's `real` is 4 bytes: at a weight like 2/3 it decided a
  // boundary case differently from SQLite and from the Redis store).
  const weight = sql`cast(${w.prevWeight} as double precision)`;
  const row = await db
    .insertInto('throttle_counters')
    .values({ bucket: rl.bucket, key: rl.key, window_ms: w.current, hits: 1, prev_hits: 0 })
    .onConflict((oc) =>
      oc
        .columns(['bucket', 'key'])
        .doUpdateSet({
          hits: sql<number>`case when ${t}.window_ms = ${w.current} then ${t}.hits + 1 else 1 end`,
          prev_hits: sql<number>`case when ${t}.window_ms = ${w.current} then ${t}.prev_hits when ${t}.window_ms = ${previous} then ${t}.hits else 0 end`,
          window_ms: w.current,
        })
        .where(
          sql<boolean>`(case when ${t}.window_ms = ${w.current} then ${t}.prev_hits * ${weight} + ${t}.hits when ${t}.window_ms = ${previous} then ${t}.hits * ${weight} else 0 end) <= ${rl.limit - 1}`,
        ),
    )
    .returning('hits')
    .executeTakeFirst();
  if (row) return { ok: true };
  const current = await db
    .selectFrom('throttle_counters')
    .select(['window_ms', 'hits', 'prev_hits'])
    .where('bucket', '=', rl.bucket)
    .where('key', '=', rl.key)
    .executeTakeFirst();
  return { ok: false, retryAfter: current ? secondsUntilRoom(current, w, rl.limit) : 1 };
}

/** Counts one request and refuses it with `429 code` when the sliding window has no room left. */
export async function consumeRateLimit(scope: LimitScope, rl: RateLimit, refusal: RateLimitRefusal): Promise<void> {
  const r = await takeSlot(scope, rl);
  if (!r.ok) throw rateLimited(rl, refusal, r.retryAfter);
}

/** Whether the limit has room, without taking a slot; when it has none, how long to wait. */
export async function peekRateLimit(
  scope: LimitScope,
  rl: RateLimit,
): Promise<{ ok: true } | { ok: false; retryAfter: number }> {
  const { db, clock, config } = scope;
  const w = windowAt(clock, rl.windowSeconds);
  const row = config.redisUrl
    ? await redisCounter(config.redisUrl, config.redisKeyPrefix, rl.bucket, rl.key)
    : await db
        .selectFrom('throttle_counters')
        .select(['window_ms', 'hits', 'prev_hits'])
        .where('bucket', '=', rl.bucket)
        .where('key', '=', rl.key)
        .executeTakeFirst();
  if (!row || estimate(row, w) <= rl.limit - 1) return { ok: true };
  return { ok: false, retryAfter: secondsUntilRoom(row, w, rl.limit) };
}

/** Gives back a slot taken for an attempt that turned out fine (a correct password from a shared address). */
export async function refundSlot(scope: LimitScope, rl: Pick<RateLimit, 'bucket' | 'key'>): Promise<void> {
  const { db, config } = scope;
  if (config.redisUrl) return redisRefundSlot(config.redisUrl, config.redisKeyPrefix, rl.bucket, rl.key);
  await db
    .updateTable('throttle_counters')
    .set((eb) => ({ hits: eb('hits', '-', 1) }))
    .where('bucket', '=', rl.bucket)
    .where('key', '=', rl.key)
    .where('hits', '>', 0)
    .execute();
}

/** Forgets a counter (an account's failures after a successful sign-in). */
export async function clearCounter(scope: LimitScope, rl: Pick<RateLimit, 'bucket' | 'key'>): Promise<void> {
  const { db, config } = scope;
  if (config.redisUrl) return redisClearCounter(config.redisUrl, config.redisKeyPrefix, rl.bucket, rl.key);
  await db.deleteFrom('throttle_counters').where('bucket', '=', rl.bucket).where('key', '=', rl.key).execute();
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

/**
 * A counter whose window ended over a day ago limits nothing (every window is at most a day), so
 * deleting it keeps the table small.
 */
export async function purgeThrottleCounters(db: Queryable, now: Date): Promise<{ deleted: number }> {
  const cutoff = now.getTime() - 2 * 86_400_000;
  const res = await db.deleteFrom('throttle_counters').where('window_ms', '<', cutoff).executeTakeFirst();
  return { deleted: Number(res.numDeletedRows) };
}
