import type { AuditActionCatalog } from '../audit/action-spec.js';

/**
 * The audit actions of the GitHub integration (see src/audit/action-spec.ts for the fields);
 * `recordGithubAudit` (record-audit.ts) accepts only these. A refusal reuses its action with outcome `denied` and a `reason`.
 * Metadata never carries file content, secrets or diff text: paths, rules, counts and reasons.
 */
export const GITHUB_AUDIT_ACTIONS = {
  'github_connection.created': {
    ocsf: 'API Activity: Create',
    security: true,
    description:
      'A GitHub App was connected (app id and API base URL; the key and webhook secret are sealed, never logged).',
  },
  'github_connection.updated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'A GitHub App connection was renamed or its credentials replaced.',
  },
  'github_connection.deleted': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A GitHub App connection was removed with its installations and allowlist.',
  },
  'github_installation.added': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'An installation of the App was picked for the organization.',
  },
  'github_installation.removed': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'An installation was dropped (its repositories leave the allowlist).',
  },
  'github_repository.allowlisted': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A repository joined the allowlist (reachable once its secret scan is clear).',
  },
  'github_repository.updated': {
    ocsf: 'API Activity: Update',
    security: true,
    description: 'Access (roles, groups), deny rules or scanning settings of an allowlisted repository changed.',
  },
  'github_repository.removed': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A repository left the allowlist; nothing in it is reachable any more.',
  },
  'github_repository.scanned': {
    ocsf: 'API Activity: Other',
    security: false,
    description:
      'The default branch was secret-scanned (commit, counts of new and open findings, the resulting status).',
  },
  'github_finding.detected': {
    ocsf: 'API Activity: Other',
    security: true,
    description: 'A secret-scan finding appeared (rule, path, line, redacted match).',
  },
  'github_finding.acknowledged': {
    ocsf: 'API Activity: Other',
    security: true,
    description: 'An admin acknowledged a finding, with a reason.',
  },
  'github_finding.suppressed': {
    ocsf: 'API Activity: Other',
    security: true,
    description:
      'A PR-scan finding was suppressed by an inline comment, the repository file or an admin rule, with its reason.',
  },
  'github_suppression.created': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'An admin added a suppression rule for a repository.',
  },
  'github_suppression.deleted': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'An admin removed a suppression rule.',
  },
  'github_file.read': {
    ocsf: 'API Activity: Read',
    security: false,
    description:
      'The assistant (or a member) read a file; denied with the rule when a deny rule or access check refused it.',
  },
  'github_tree.listed': {
    ocsf: 'API Activity: Read',
    security: false,
    description: 'A directory of a repository was listed (how many entries were withheld by deny rules).',
  },
  'github_code.searched': {
    ocsf: 'API Activity: Other',
    security: false,
    description: 'A repository was searched (matches returned and files withheld; never the matching lines).',
  },
  'github_pr_diff.read': {
    ocsf: 'API Activity: Read',
    security: false,
    description: 'A pull request diff was read (files returned and withheld).',
  },
  'github_pr.scanned': {
    ocsf: 'API Activity: Other',
    security: false,
    description: 'A pull request was scanned: findings by level, suppressed count, what was published.',
  },
  'github_webhook.rejected': {
    ocsf: 'API Activity: Other',
    security: true,
    description: 'A webhook delivery was refused (bad signature or replayed delivery id).',
  },
} as const satisfies AuditActionCatalog;

export type GithubAuditAction = keyof typeof GITHUB_AUDIT_ACTIONS;
