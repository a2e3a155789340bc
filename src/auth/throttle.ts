import type { Clock } from '../clock.js';
import type { PalisadeConfig } from '../config.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { type RateLimit, clearCounter, clientNetworkKey, refundSlot, takeSlot } from '../http/rate-limit.js';

/**
 * The sign-in throttle, per account and per client network, in sliding windows shared by every
 * process (src/http/rate-limit.ts). A slot is reserved BEFORE the password is checked, so a burst of
 * simultaneous guesses for one account gets at most the limit of password checks; the rest are
 * refused with 429 without being evaluated. A correct password gives its slots back (the account's
 * counter is cleared; the address's slot is refunded, so an office behind one NAT is not throttled by
 * its own successful sign-ins); a wrong one keeps them, as failures.
 */
type Limits = Pick<
  PalisadeConfig,
  'loginMaxFailuresPerAccount' | 'loginMaxFailuresPerIp' | 'loginThrottleWindowMinutes' | 'redisUrl' | 'redisKeyPrefix'
>;

const accountLimit = (limits: Limits, email: string): RateLimit => ({
  bucket: 'login_account',
  key: email,
  limit: limits.loginMaxFailuresPerAccount,
  windowSeconds: limits.loginThrottleWindowMinutes * 60,
});
const addressLimit = (limits: Limits, ip: string | null): RateLimit => ({
  bucket: 'login_ip',
  key: clientNetworkKey(ip),
  limit: limits.loginMaxFailuresPerIp,
  windowSeconds: limits.loginThrottleWindowMinutes * 60,
});

const tooMany = (isAccount: boolean, retryAfter: number) =>
  new PalisadeError(
    429,
    'too_many_login_attempts',
    isAccount
      ? `Too many failed sign-in attempts for this account. Wait ${retryAfter} seconds and try again, or reset your password with "Forgot password" (POST /api/v1/auth/password-reset).`
      : `Too many failed sign-in attempts from your network address. Wait ${retryAfter} seconds and try again.`,
    { headers: { 'retry-after': String(retryAfter) }, details: { retryAfterSeconds: retryAfter } },
  );

export interface LoginAttempt {
  /** The password was right: give the slots back. */
  succeeded(db: Queryable): Promise<void>;
}

/**
 * Reserves one attempt for the account and one for the client network, or refuses with 429
 * (nothing reserved). Call before checking a password; call `succeeded` when it was right.
 */
export async function reserveLoginAttempt(
  db: Queryable,
  clock: Clock,
  limits: Limits,
  email: string,
  ip: string | null,
): Promise<LoginAttempt> {
  const account = accountLimit(limits, email);
  const address = addressLimit(limits, ip);
  const scope = { db, clock, config: limits };
  const byAddress = await takeSlot(scope, address);
  if (!byAddress.ok) throw tooMany(false, byAddress.retryAfter);
  const byAccount = await takeSlot(scope, account);
  if (!byAccount.ok) {
    await refundSlot(scope, address);
    throw tooMany(true, byAccount.retryAfter);
  }
  return {
    succeeded: async (tx) => {
      // In the sign-in's transaction when the database holds the limits; Redis is not transactional
      // with it, so a failure after this point leaves the slots given back (the password was right).
      await clearCounter({ ...scope, db: tx }, account);
      await refundSlot({ ...scope, db: tx }, address);
    },
  };
}
