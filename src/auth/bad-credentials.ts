import type { Clock } from '../clock.js';
import type { PalisadeConfig } from '../config.js';
import type { Queryable } from '../db/schema.js';
import { clientNetworkKey, rateLimited, takeSlot } from '../http/rate-limit.js';

/**
 * Throttles bad bearer secrets (personal API tokens, SCIM directory tokens, gateway keys, one-time
 * links) per client network: once a network has sent `badTokenMaxPerIp` bad ones within the sliding
 * window, every further bad one is answered 429 with Retry-After instead of 401.
 *
 * Only failures count, and a valid token is always served: the secrets are 256-bit, so the limit is
 * not what stops guessing; it stops noise and makes a scanner visible, without letting one
 * misconfigured script (a rotated SCIM token, a revoked key) lock everyone behind the same address
 * out of Palisade.
 */
type Limits = Pick<PalisadeConfig, 'badTokenMaxPerIp' | 'badTokenWindowSeconds' | 'redisUrl' | 'redisKeyPrefix'>;

const refusal = {
  code: 'too_many_invalid_tokens' as const,
  message: 'Too many invalid tokens or links were sent from your network address.',
};

/** After a token turned out bad: counts it; past the limit the answer is 429 instead of 401. */
export async function recordBadToken(db: Queryable, clock: Clock, config: Limits, ip: string | null): Promise<void> {
  const rl = {
    bucket: 'bad_token' as const,
    key: clientNetworkKey(ip),
    limit: config.badTokenMaxPerIp,
    windowSeconds: config.badTokenWindowSeconds,
  };
  const r = await takeSlot({ db, clock, config }, rl);
  if (!r.ok) throw rateLimited(rl, refusal, r.retryAfter);
}
