import type { Queryable } from '../db/schema.js';
import { notFound } from '../errors.js';
import type { GithubConnectionsTable, GithubRepositoriesTable } from './tables.js';

/** Named queries of the GitHub integration. Another organization's row answers exactly like a missing one. */
export async function connectionById(
  db: Queryable,
  orgId: string,
  connectionId: string,
): Promise<GithubConnectionsTable> {
  const row = await db
    .selectFrom('github_connections')
    .selectAll()
    .where('id', '=', connectionId)
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .executeTakeFirst();
  if (!row) throw notFound('GitHub connection');
  return row;
}

/** A connection by id alone, for the webhook endpoint (which learns the organization from it). */
export async function activeConnection(
  db: Queryable,
  connectionId: string,
): Promise<GithubConnectionsTable | undefined> {
  return db
    .selectFrom('github_connections')
    .selectAll()
    .where('id', '=', connectionId)
    .where('status', '=', 'active')
    .executeTakeFirst();
}

export async function repositoryById(
  db: Queryable,
  orgId: string,
  repositoryId: string,
): Promise<GithubRepositoriesTable> {
  const row = await db
    .selectFrom('github_repositories')
    .selectAll()
    .where('id', '=', repositoryId)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) throw notFound('allowlisted repository');
  return row;
}

export async function repositoryByGithubId(
  db: Queryable,
  connectionId: string,
  githubId: string,
): Promise<GithubRepositoriesTable | undefined> {
  return db
    .selectFrom('github_repositories')
    .selectAll()
    .where('connection_id', '=', connectionId)
    .where('github_id', '=', githubId)
    .executeTakeFirst();
}

export async function openFindingRows(db: Queryable, repositoryId: string) {
  return db
    .selectFrom('github_findings')
    .selectAll()
    .where('repository_id', '=', repositoryId)
    .where('status', '=', 'open')
    .orderBy('id')
    .execute();
}

/** Primary owners and admins with an active membership: whom "notify admins" reaches. */
export async function adminEmails(db: Queryable, orgId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select('users.email')
    .where('memberships.org_id', '=', orgId)
    .where('memberships.status', '=', 'active')
    .where('memberships.role', 'in', ['primary_owner', 'admin'])
    .execute();
  return rows.map((r) => r.email);
}

export const parseJsonList = (text: string | null): string[] | null => {
  if (text === null) return null;
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null;
};
