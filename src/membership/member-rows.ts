import type { Queryable, Tx } from '../db/schema.js';
import { conflict, notFound } from '../errors.js';
import type { SuspensionFacts } from '../orgs/views.js';

/**
 * Members with their user and what a suspension view needs: the SCIM directory that suspended them
 * (when it still exists) and the address of the admin who did.
 */
export function memberRows(db: Queryable, orgId: string) {
  return db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .leftJoin('scim_directories', (j) =>
      j
        .onRef('scim_directories.id', '=', 'memberships.suspended_by_directory_id')
        .onRef('scim_directories.org_id', '=', 'memberships.org_id')
        .on('scim_directories.status', '=', 'active'),
    )
    .leftJoin('users as suspender', 'suspender.id', 'memberships.suspended_by_user_id')
    .selectAll('memberships')
    .select([
      'users.email',
      'users.display_name',
      'scim_directories.id as suspending_directory_id',
      'scim_directories.name as suspending_directory_name',
      'suspender.email as suspender_email',
    ])
    .where('memberships.org_id', '=', orgId);
}

export type MemberRow = Awaited<ReturnType<ReturnType<typeof memberRows>['executeTakeFirstOrThrow']>>;

export const suspensionFacts = (r: {
  suspending_directory_id: string | null;
  suspending_directory_name: string | null;
  suspender_email: string | null;
}): SuspensionFacts => ({
  directory: r.suspending_directory_id
    ? { id: r.suspending_directory_id, name: r.suspending_directory_name ?? '' }
    : null,
  suspenderEmail: r.suspender_email,
});

/** A member of this organization, or 404 (one of another organization looks the same as none). */
export async function loadMember(tx: Tx, orgId: string, memberId: string): Promise<MemberRow> {
  const row = await memberRows(tx, orgId).where('memberships.id', '=', memberId).executeTakeFirst();
  if (!row) throw notFound('member');
  return row;
}

export const lastOwner = () =>
  conflict(
    'last_primary_owner',
    'This is the last active primary owner of the organization. Promote another member to primary owner first, then try again.',
  );
