import type { Membership, Organization, Queryable, Role, Tx } from '../db/schema.js';
import { lockRow } from '../db/row-lock.js';

export function findActiveOrg(db: Queryable, orgId: string): Promise<Organization | undefined> {
  return db
    .selectFrom('organizations')
    .selectAll()
    .where('id', '=', orgId)
    .where('status', '=', 'active')
    .executeTakeFirst();
}

/** The organization and its ancestors, nearest first. */
export async function orgLineage(db: Queryable, orgId: string, maxDepth = 8): Promise<Organization[]> {
  const chain: Organization[] = [];
  let next: string | null = orgId;
  while (next && chain.length < maxDepth) {
    const org = await findActiveOrg(db, next);
    if (!org) break;
    chain.push(org);
    next = org.parent_id;
  }
  return chain;
}

export function activeMembershipsIn(db: Queryable, userId: string, orgIds: string[]): Promise<Membership[]> {
  if (orgIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('memberships')
    .selectAll()
    .where('user_id', '=', userId)
    .where('org_id', 'in', orgIds)
    .where('status', '=', 'active')
    .execute();
}

export async function countActiveOwners(db: Queryable, orgId: string): Promise<number> {
  const row = await db
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', orgId)
    .where('role', '=', 'primary_owner' satisfies Role)
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countOwnersIncludingInvited(db: Queryable, orgId: string): Promise<number> {
  const row = await db
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', orgId)
    .where('role', '=', 'primary_owner' satisfies Role)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Serializes "check then change" rules on one organization (the last primary owner): the no-op
 * UPDATE takes a row lock on PostgreSQL; SQLite already runs one write transaction at a time.
 */
export async function lockOrg(tx: Tx, orgId: string): Promise<void> {
  await lockRow(tx, 'organizations', { id: orgId });
}

export async function activeChildCount(db: Queryable, orgId: string): Promise<number> {
  const row = await db
    .selectFrom('organizations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('parent_id', '=', orgId)
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
