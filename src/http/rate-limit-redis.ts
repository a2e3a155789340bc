import { Redis } from 'ioredis';
import { PalisadeError } from '../errors.js';

/**
 * The limits' counters in Redis (PALISADE_REDIS_URL), for installations that already run Redis and
 * would rather keep this traffic off the database. The window arithmetic is the database store's
 * (src/http/rate-limit.ts): each counter is a hash of the current fixed window's start (`w`), its
 * hits and the previous window's hits; taking a slot is one Lua script, so it is atomic on the
 * server however many instances call it at once, and it only counts a hit while the sliding
 * estimate is under the limit. A counter expires two windows after its last hit, when it can no
 * longer limit anything.
 */

/** The stored state of one counter, as the database store keeps it. */
export interface CounterState {
  window_ms: number;
  hits: number;
  prev_hits: number;
}

const TAKE = `
local cur = tonumber(ARGV[1])
local wms = tonumber(ARGV[2])
local weight = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'w', 'hits', 'prev')
local w = tonumber(h[1])
local hits = tonumber(h[2]) or 0
local prev = tonumber(h[3]) or 0
local est, nh, np
if w == cur then est = prev * weight + hits; nh = hits + 1; np = prev
elseif w == cur - wms then est = hits * weight; nh = 1; np = hits
else est = 0; nh = 1; np = 0 end
if est <= limit - 1 then
  redis.call('HSET', KEYS[1], 'w', cur, 'hits', nh, 'prev', np)
  redis.call('PEXPIRE', KEYS[1], 2 * wms + 1000)
  return {1, 0, 0, 0}
end
return {0, w or 0, hits, prev}
`;

const REFUND = `
local hits = tonumber(redis.call('HGET', KEYS[1], 'hits'))
if hits and hits > 0 then redis.call('HINCRBY', KEYS[1], 'hits', -1) end
return 0
`;

interface Shared {
  client: Redis;
  users: number;
}

/** One client per URL and prefix in a process, shared by every app that uses it (tests run several). */
const clients = new Map<string, Shared>();

const idOf = (url: string, prefix: string) => `${prefix}\n${url}`;

function clientFor(url: string, prefix: string): Redis {
  const id = idOf(url, prefix);
  let shared = clients.get(id);
  if (!shared) {
    const client = new Redis(url, {
      keyPrefix: prefix,
      // A request that cannot reach Redis fails fast (503) instead of queueing behind reconnects.
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      enableOfflineQueue: true,
      lazyConnect: false,
    });
    // Connection errors surface on the commands (as limits_unavailable); the client reconnects itself.
    client.on('error', () => undefined);
    client.defineCommand('palisadeTakeSlot', { numberOfKeys: 1, lua: TAKE });
    client.defineCommand('palisadeRefundSlot', { numberOfKeys: 1, lua: REFUND });
    shared = { client, users: 0 };
    clients.set(id, shared);
  }
  return shared.client;
}

/** An app that uses Redis holds its client from start to close, so the last one to close quits it. */
export function acquireRedis(url: string, prefix: string): () => Promise<void> {
  clientFor(url, prefix);
  const id = idOf(url, prefix);
  clients.get(id)!.users++;
  return async () => {
    const shared = clients.get(id);
    if (!shared || --shared.users > 0) return;
    clients.delete(id);
    await shared.client.quit().catch(() => shared.client.disconnect());
  };
}

const unavailable = (err: unknown) =>
  new PalisadeError(
    503,
    'limits_unavailable',
    'Palisade cannot reach the Redis server that holds its rate limits (PALISADE_REDIS_URL), so it refuses requests it must limit rather than let them through unlimited. Try again shortly; operators: check that Redis is up and reachable.',
    { cause: err },
  );

type Scripted = Redis & {
  palisadeTakeSlot(key: string, ...args: (string | number)[]): Promise<[number, number, number, number]>;
  palisadeRefundSlot(key: string): Promise<number>;
};

const keyOf = (bucket: string, key: string) => `limit:${bucket}:${key}`;

/** Runs one command on the shared client; any failure to reach Redis is limits_unavailable. */
async function withRedis<T>(url: string, prefix: string, run: (client: Scripted) => Promise<T>): Promise<T> {
  try {
    return await run(clientFor(url, prefix) as Scripted);
  } catch (err) {
    throw unavailable(err);
  }
}

/** Takes a slot; when there is no room, returns the stored state the wait is computed from. */
export async function redisTakeSlot(
  url: string,
  prefix: string,
  bucket: string,
  key: string,
  window: { current: number; windowMs: number; prevWeight: number },
  limit: number,
): Promise<{ ok: true } | { ok: false; state: CounterState }> {
  const [ok, w, hits, prev] = await withRedis(url, prefix, (client) =>
    client.palisadeTakeSlot(keyOf(bucket, key), window.current, window.windowMs, window.prevWeight, limit),
  );
  return ok === 1 ? { ok: true } : { ok: false, state: { window_ms: w, hits, prev_hits: prev } };
}

export async function redisCounter(
  url: string,
  prefix: string,
  bucket: string,
  key: string,
): Promise<CounterState | undefined> {
  const [w, hits, prev] = await withRedis(url, prefix, (client) =>
    client.hmget(keyOf(bucket, key), 'w', 'hits', 'prev'),
  );
  if (w === null || w === undefined) return undefined;
  return { window_ms: Number(w), hits: Number(hits ?? 0), prev_hits: Number(prev ?? 0) };
}

export async function redisRefundSlot(url: string, prefix: string, bucket: string, key: string): Promise<void> {
  await withRedis(url, prefix, (client) => client.palisadeRefundSlot(keyOf(bucket, key)));
}

export async function redisClearCounter(url: string, prefix: string, bucket: string, key: string): Promise<void> {
  await withRedis(url, prefix, (client) => client.del(keyOf(bucket, key)));
}
