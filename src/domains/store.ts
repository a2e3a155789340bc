import type { Queryable, Tx } from '../db/schema.js';
import type { TokenOwner } from './diagnosis.js';
import type { Domain } from './tables.js';
import { lockRow } from '../db/row-lock.js';

export const CLAIMING: readonly Domain['status'][] = ['verified', 'failing'];

export function findDomain(db: Queryable, orgId: string, domainId: string): Promise<Domain | undefined> {
  return db.selectFrom('domains').selectAll().where('id', '=', domainId).where('org_id', '=', orgId).executeTakeFirst();
}

/** Takes the domain row under a lock (no-op UPDATE) and returns it fresh, so transitions never interleave. */
export async function lockDomain(tx: Tx, domainId: string): Promise<Domain | undefined> {
  await lockRow(tx, 'domains', { id: domainId });
  return tx.selectFrom('domains').selectAll().where('id', '=', domainId).executeTakeFirst();
}

/** `a.b.example.com` → [a.b.example.com, b.example.com, example.com, com]. */
export function suffixesOf(name: string): string[] {
  const labels = name.split('.');
  return labels.map((_, i) => labels.slice(i).join('.'));
}

/**
 * Domains of other organizations that overlap `name` while claimed: the same name, a parent that
 * covers its subdomains, or (when `includeSubdomains`) a claimed name under it.
 */
export async function overlappingClaims(
  db: Queryable,
  orgId: string,
  name: string,
  includeSubdomains: boolean,
): Promise<Domain[]> {
  const parents = suffixesOf(name);
  const rows = await db
    .selectFrom('domains')
    .selectAll()
    .where('org_id', '!=', orgId)
    .where('status', 'in', CLAIMING)
    .where((eb) => {
      const ors = [eb('name', 'in', parents)];
      // Normalized names hold only [a-z0-9.-], so no LIKE wildcard can hide in them.
      if (includeSubdomains) ors.push(eb('name', 'like', `%.${name}`));
      return eb.or(ors);
    })
    .execute();
  return rows.filter(
    (r) =>
      r.name === name ||
      (parents.includes(r.name) && Number(r.include_subdomains) === 1) ||
      (includeSubdomains && r.name.endsWith(`.${name}`)),
  );
}

/** Who a published value was issued to, for near-miss diagnoses. Never returns the other organization. */
export async function tokenOwner(
  db: Queryable,
  orgId: string,
  domainId: string,
  value: string,
): Promise<TokenOwner | undefined> {
  const row = await db.selectFrom('domain_challenges').selectAll().where('token', '=', value).executeTakeFirst();
  if (!row) return undefined;
  if (row.org_id !== orgId) return { sameOrg: false };
  return { sameOrg: true, domainName: row.domain_name, current: row.domain_id === domainId && row.retired_at === null };
}
