import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Admins suspend members themselves (src/orgs/suspension.ts), not only SCIM.
 *
 * - `memberships.suspended_by_user_id`: the admin or owner who suspended the membership (null for
 *   a SCIM suspension). A membership may carry both this and `suspended_by_directory_id` (an admin
 *   suspended the person and the identity provider then deactivated them): it stays suspended
 *   until each of the two lifts its part.
 *
 * No index for the member search: it matches a substring of the address or name, which no B-tree
 * serves, within one organization, which the unique (org_id, user_id) index already narrows to.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('memberships').addColumn('suspended_by_user_id', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  // Before this migration only SCIM suspended: an admin's suspension cannot be kept, so it ends in removal (fail closed).
  await db
    .deleteFrom('memberships')
    .where('status', '=', 'suspended')
    .where('suspended_by_directory_id', 'is', null)
    .execute();
  await db.schema.alterTable('memberships').dropColumn('suspended_by_user_id').execute();
}
