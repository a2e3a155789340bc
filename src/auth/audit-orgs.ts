import { SYSTEM_CHAIN } from '../audit/event.js';
import type { Queryable } from '../db/schema.js';

/**
 * A person's own security events (sign-ins, tokens) belong in the audit log of every organization
 * they are an active member of, so each organization's security team sees them; a person with no
 * organization is recorded in the installation-level chain.
 */
export async function auditOrgsOfUser(db: Queryable, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
    .select('memberships.org_id')
    .where('memberships.user_id', '=', userId)
    .where('memberships.status', '=', 'active')
    .where('organizations.status', '=', 'active')
    .orderBy('memberships.org_id')
    .execute();
  return rows.length ? rows.map((r) => r.org_id) : [SYSTEM_CHAIN];
}
