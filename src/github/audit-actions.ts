import { type AuditEventInput, recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Tx } from '../db/schema.js';

/**
 * The audit actions of the GitHub integration, each with its OCSF class and what it records.
 * `recordGithubAudit` accepts only these, so a typo is a compile error and a SIEM mapping is not
 * guessed from a verb. A refusal reuses its action with outcome `denied` and a `reason`.
 * Metadata never carries file content, secrets or diff text: paths, rules, counts and reasons.
 */
export const GITHUB_AUDIT_ACTIONS = {
  'github_connection.created': { ocsfClass: 6003, description: 'A GitHub App was connected (app id and API base URL; the key and webhook secret are sealed, never logged).' },
  'github_connection.updated': { ocsfClass: 6003, description: 'A GitHub App connection was renamed or its credentials replaced.' },
  'github_connection.deleted': { ocsfClass: 6003, description: 'A GitHub App connection was removed with its installations and allowlist.' },
  'github_installation.added': { ocsfClass: 6003, description: 'An installation of the App was picked for the organization.' },
  'github_installation.removed': { ocsfClass: 6003, description: 'An installation was dropped (its repositories leave the allowlist).' },
  'github_repository.allowlisted': { ocsfClass: 6003, description: 'A repository joined the allowlist (reachable once its secret scan is clear).' },
  'github_repository.updated': { ocsfClass: 6003, description: 'Access (roles, groups), deny rules or scanning settings of an allowlisted repository changed.' },
  'github_repository.removed': { ocsfClass: 6003, description: 'A repository left the allowlist; nothing in it is reachable any more.' },
  'github_repository.scanned': { ocsfClass: 6003, description: 'The default branch was secret-scanned (commit, counts of new and open findings, the resulting status).' },
  'github_finding.detected': { ocsfClass: 2004, description: 'A secret-scan finding appeared (rule, path, line, redacted match).' },
  'github_finding.acknowledged': { ocsfClass: 6003, description: 'An admin acknowledged a finding, with a reason.' },
  'github_finding.suppressed': { ocsfClass: 6003, description: 'A PR-scan finding was suppressed by an inline comment, the repository file or an admin rule, with its reason.' },
  'github_suppression.created': { ocsfClass: 6003, description: 'An admin added a suppression rule for a repository.' },
  'github_suppression.deleted': { ocsfClass: 6003, description: 'An admin removed a suppression rule.' },
  'github_file.read': { ocsfClass: 6003, description: 'The assistant (or a member) read a file; denied with the rule when a deny rule or access check refused it.' },
  'github_tree.listed': { ocsfClass: 6003, description: 'A directory of a repository was listed (how many entries were withheld by deny rules).' },
  'github_code.searched': { ocsfClass: 6003, description: 'A repository was searched (matches returned and files withheld; never the matching lines).' },
  'github_pr_diff.read': { ocsfClass: 6003, description: 'A pull request diff was read (files returned and withheld).' },
  'github_pr.scanned': { ocsfClass: 6003, description: 'A pull request was scanned: findings by level, suppressed count, what was published.' },
  'github_webhook.rejected': { ocsfClass: 6003, description: 'A webhook delivery was refused (bad signature or replayed delivery id).' },
} as const satisfies Record<string, { ocsfClass: number; description: string }>;

export type GithubAuditAction = keyof typeof GITHUB_AUDIT_ACTIONS;

export function recordGithubAudit(tx: Tx, ctx: Pick<Ctx, 'clock' | 'caller' | 'meta'> & { db?: Ctx['db'] }, input: Omit<AuditEventInput, 'action'> & { action: GithubAuditAction }): Promise<string> {
  return recordAudit(tx, ctx, input);
}
