import type { Clock } from '../clock.js';
import type { PalisadeConfig } from '../config.js';
import type { Queryable } from '../db/schema.js';
import { type RateLimit, clientNetworkKey, peekRateLimit, rateLimited, takeSlot } from '../http/rate-limit.js';

/**
 * Throttles bad bearer secrets (personal API tokens, SCIM directory tokens, gateway keys, one-time
 * links) per client network: past the limit, every further token from that network is answered 429
 * with Retry-After before it is even looked up, valid or not, until the sliding window has room.
 *
 * Only failures count, so good traffic costs nothing here: the database is read before a lookup only
 * for networks this process saw fail recently (`suspects`); the first bad token a process sees from
 * a network is counted like the others (an atomic slot in the shared counter) and puts the network
 * on its list. Several processes therefore agree after each has seen one failure from a network.
 */
type Limits = Pick<PalisadeConfig, 'badTokenMaxPerIp' | 'badTokenWindowSeconds'>;

const SUSPECTS_MAX = 10_000;
const suspects = new Map<string, number>();

const limitFor = (config: Limits, network: string): RateLimit => ({ bucket: 'bad_token', key: network, limit: config.badTokenMaxPerIp, windowSeconds: config.badTokenWindowSeconds });

const refusal = { code: 'too_many_invalid_tokens', message: 'Too many invalid tokens or links were sent from your network address.' };

/** Before looking a token up: refuses (429) a network that already sent too many bad ones. */
export async function assertTokenAttemptAllowed(db: Queryable, clock: Clock, config: Limits, ip: string | null): Promise<void> {
  const network = clientNetworkKey(ip);
  const until = suspects.get(network);
  if (until === undefined) return;
  if (until < clock.now().getTime()) {
    suspects.delete(network);
    return;
  }
  const rl = limitFor(config, network);
  const r = await peekRateLimit(db, clock, rl);
  if (!r.ok) throw rateLimited(rl, refusal, r.retryAfter);
}

/** After a token turned out bad: counts it; the one past the limit is answered 429 instead of 401. */
export async function recordBadToken(db: Queryable, clock: Clock, config: Limits, ip: string | null): Promise<void> {
  const network = clientNetworkKey(ip);
  if (suspects.size >= SUSPECTS_MAX) suspects.delete(suspects.keys().next().value as string);
  suspects.set(network, clock.now().getTime() + 2 * config.badTokenWindowSeconds * 1000);
  const rl = limitFor(config, network);
  const r = await takeSlot(db, clock, rl);
  if (!r.ok) throw rateLimited(rl, refusal, r.retryAfter);
}
