import type { Queryable } from '../db/schema.js';
import { findUserByEmail } from '../users/store.js';

/**
 * Discovery that knows accounts: an address that already has an active account is routed by the
 * organizations that account belongs to, whatever the state of its email domain. A domain that
 * lapses (or was never verified) therefore never turns people who sign in through SSO into password
 * users. Only active memberships of active organizations count; null when the address has no
 * account, or an account that belongs nowhere (then the domain decides, as before).
 */
export interface AccountRouting {
  orgIds: string[];
  hasPassword: boolean;
}

export async function accountRouting(db: Queryable, email: string): Promise<AccountRouting | null> {
  const user = await findUserByEmail(db, email);
  if (!user || user.status !== 'active') return null;
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
    .select('memberships.org_id')
    .where('memberships.user_id', '=', user.id)
    .where('memberships.status', '=', 'active')
    .where('organizations.status', '=', 'active')
    .orderBy('memberships.created_at')
    .execute();
  if (!rows.length) return null;
  return { orgIds: rows.map((r) => r.org_id), hasPassword: user.password_hash !== null };
}
