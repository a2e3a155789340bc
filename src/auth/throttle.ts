import type { Clock } from '../clock.js';
import type { PalisadeConfig } from '../config.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError } from '../errors.js';

/**
 * Failed-login counters per account and per client IP, in fixed windows stored in the database so
 * that several Palisade processes share them.
 */
type Limits = Pick<PalisadeConfig, 'loginMaxFailuresPerAccount' | 'loginMaxFailuresPerIp' | 'loginThrottleWindowMinutes'>;

const accountKey = (email: string) => `acct:${email}`;
const ipKey = (ip: string) => `ip:${ip}`;

function windowStart(clock: Clock, minutes: number): string {
  const ms = minutes * 60_000;
  return new Date(Math.floor(clock.now().getTime() / ms) * ms).toISOString();
}

export async function assertLoginAllowed(db: Queryable, clock: Clock, limits: Limits, email: string, ip: string | null): Promise<void> {
  const start = windowStart(clock, limits.loginThrottleWindowMinutes);
  const keys = [accountKey(email), ...(ip ? [ipKey(ip)] : [])];
  const rows = await db.selectFrom('login_throttle').selectAll().where('key', 'in', keys).where('window_start', '=', start).execute();
  const retryAfter = Math.ceil((new Date(start).getTime() + limits.loginThrottleWindowMinutes * 60_000 - clock.now().getTime()) / 1000);
  for (const row of rows) {
    const isAccount = row.key.startsWith('acct:');
    const limit = isAccount ? limits.loginMaxFailuresPerAccount : limits.loginMaxFailuresPerIp;
    if (row.failures >= limit) {
      throw new PalisadeError(
        429,
        'too_many_login_attempts',
        isAccount
          ? `Too many failed sign-in attempts for this account. Wait ${retryAfter} seconds and try again, or ask an administrator to reset your password.`
          : `Too many failed sign-in attempts from your network address. Wait ${retryAfter} seconds and try again.`,
        { headers: { 'retry-after': String(retryAfter) }, details: { retryAfterSeconds: retryAfter } },
      );
    }
  }
}

export async function recordLoginFailure(db: Queryable, clock: Clock, limits: Limits, email: string, ip: string | null): Promise<void> {
  const start = windowStart(clock, limits.loginThrottleWindowMinutes);
  for (const key of [accountKey(email), ...(ip ? [ipKey(ip)] : [])]) {
    await db
      .insertInto('login_throttle')
      .values({ key, window_start: start, failures: 1 })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          // A new window resets the count; the same window adds one.
          failures: eb.case().when('login_throttle.window_start', '=', start).then(eb('login_throttle.failures', '+', 1)).else(1).end(),
          window_start: start,
        })),
      )
      .execute();
  }
}

export async function clearAccountFailures(db: Queryable, email: string): Promise<void> {
  await db.deleteFrom('login_throttle').where('key', '=', accountKey(email)).execute();
}

/**
 * One row per account or address that ever failed to sign in; once its window is over it blocks
 * nothing, so rows a day past their window are deleted (by the rate_limits.cleanup job).
 */
export async function purgeLoginThrottle(db: Queryable, now: Date, windowMinutes: number): Promise<{ deleted: number }> {
  const cutoff = new Date(now.getTime() - windowMinutes * 60_000 - 86_400_000).toISOString();
  const res = await db.deleteFrom('login_throttle').where('window_start', '<', cutoff).executeTakeFirst();
  return { deleted: Number(res.numDeletedRows) };
}
