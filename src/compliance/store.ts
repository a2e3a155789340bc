import type { Organization, Queryable } from '../db/schema.js';
import type { ComplianceKeysTable } from './tables.js';

/** Named queries of the Compliance API that are not the activity feed's (see activities.ts). */

/** Levels below a top-level organization (organizations nest at most 3 deep: src/membership/organizations.ts). */
const MAX_DESCENDANT_LEVELS = 4;

/** The active organizations under each of `roots` (the roots included), breadth first. */
export async function subtreesOf(db: Queryable, roots: string[]): Promise<Organization[]> {
  if (roots.length === 0) return [];
  const found = await db
    .selectFrom('organizations')
    .selectAll()
    .where('id', 'in', roots)
    .where('status', '=', 'active')
    .execute();
  const seen = new Set(found.map((o) => o.id));
  let frontier = [...seen];
  for (let level = 0; level < MAX_DESCENDANT_LEVELS && frontier.length; level++) {
    const children = await db
      .selectFrom('organizations')
      .selectAll()
      .where('parent_id', 'in', frontier)
      .where('status', '=', 'active')
      .orderBy('id')
      .execute();
    frontier = [];
    for (const c of children) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      found.push(c);
      frontier.push(c.id);
    }
  }
  return found;
}

export type KeyRow = ComplianceKeysTable;

export function keyByHash(db: Queryable, tokenHash: string): Promise<KeyRow | undefined> {
  return db.selectFrom('compliance_keys').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

export function keyOfOrg(db: Queryable, orgId: string, keyId: string): Promise<KeyRow | undefined> {
  return db
    .selectFrom('compliance_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', keyId)
    .executeTakeFirst();
}

export function keysOfOrg(db: Queryable, orgId: string): Promise<KeyRow[]> {
  return db.selectFrom('compliance_keys').selectAll().where('org_id', '=', orgId).orderBy('id').execute();
}

export async function touchKey(db: Queryable, keyId: string, at: string): Promise<void> {
  await db.updateTable('compliance_keys').set({ last_used_at: at }).where('id', '=', keyId).execute();
}

/** The conversation with `id` in one of `orgIds`. */
export function conversationIn(db: Queryable, orgIds: string[], id: string) {
  return db
    .selectFrom('workspace_conversations')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', 'in', orgIds)
    .executeTakeFirst();
}

export function fileIn(db: Queryable, orgIds: string[], id: string) {
  return db
    .selectFrom('workspace_files')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', 'in', orgIds)
    .executeTakeFirst();
}

/** Emails of users, for views that name people. */
export async function emailsOf(db: Queryable, userIds: string[]): Promise<Map<string, string>> {
  const ids = [...new Set(userIds)].filter(Boolean);
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('users')
      .select(['id', 'email'])
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.id, r.email);
  }
  return out;
}
