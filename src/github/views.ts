import { Type, type Static } from '@sinclair/typebox';
import type { PalisadeConfig } from '../config.js';
import { DEFAULT_DENY_RULES, denyRulesFor } from './deny-rules.js';
import { parseJsonList } from './store.js';
import type {
  GithubConnectionsTable,
  GithubFindingsTable,
  GithubInstallationsTable,
  GithubPrScansTable,
  GithubRepositoriesTable,
  GithubSuppressionsTable,
} from './tables.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const ConnectionView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  appId: Type.String(),
  apiBaseUrl: Type.String(),
  webhookUrl: Type.String({
    description: "Set this as the App's webhook URL (content type application/json), with the same secret.",
  }),
  installations: Type.Array(
    Type.Object({ installationId: Type.String(), accountLogin: Type.String(), addedAt: Type.String() }),
  ),
  createdAt: Type.String(),
});
export type ConnectionView = Static<typeof ConnectionView>;

export function connectionView(
  config: PalisadeConfig,
  r: GithubConnectionsTable,
  installs: GithubInstallationsTable[],
): ConnectionView {
  return {
    id: r.id,
    name: r.name,
    appId: r.app_id,
    apiBaseUrl: r.api_base_url,
    webhookUrl: `${config.publicUrl.replace(/\/+$/, '')}/github/webhooks/${r.id}`,
    installations: installs.map((i) => ({
      installationId: i.installation_id,
      accountLogin: i.account_login,
      addedAt: i.created_at,
    })),
    createdAt: r.created_at,
  };
}

export const SecretPatternSchema = Type.Object(
  {
    id: Type.String({
      pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$',
      description: 'Your name for the pattern, e.g. acme-internal-token.',
    }),
    pattern: Type.String({
      minLength: 1,
      maxLength: 500,
      description: 'JavaScript regular expression; its first capture group (if any) is the secret.',
    }),
    description: Type.String({ maxLength: 200 }),
  },
  { additionalProperties: false },
);

export const RepositoryStatusSchema = Type.Union(
  [Type.Literal('pending_scan'), Type.Literal('blocked'), Type.Literal('enabled')],
  {
    description:
      'pending_scan: waiting for its first secret scan. blocked: open findings must be acknowledged or covered by a deny rule. enabled: readable through the repository tools.',
  },
);

export const RepositoryView = Type.Object({
  id: Type.String(),
  connectionId: Type.String(),
  installationId: Type.String(),
  fullName: Type.String(),
  defaultBranch: Type.String(),
  status: RepositoryStatusSchema,
  readable: Type.Boolean(),
  access: Type.Object({
    roles: Nullable(Type.Array(Type.String())),
    groups: Nullable(Type.Array(Type.String())),
  }),
  denyRules: Type.Object({ defaults: Type.Array(Type.String()), additions: Type.Array(Type.String()) }),
  secretPatterns: Type.Array(SecretPatternSchema),
  prScan: Type.Boolean(),
  modelReview: Type.Boolean(),
  scannedSha: Nullable(Type.String()),
  scannedAt: Nullable(Type.String()),
  scanError: Nullable(Type.String()),
  openFindings: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type RepositoryView = Static<typeof RepositoryView>;

export function repositoryView(r: GithubRepositoriesTable, openFindings: number): RepositoryView {
  return {
    id: r.id,
    connectionId: r.connection_id,
    installationId: r.installation_id,
    fullName: r.full_name,
    defaultBranch: r.default_branch,
    status: r.status,
    readable: r.status === 'enabled' && r.scanned_sha !== null,
    access: { roles: parseJsonList(r.allowed_roles), groups: parseJsonList(r.allowed_groups) },
    denyRules: { defaults: [...DEFAULT_DENY_RULES], additions: parseJsonList(r.deny_rules) ?? [] },
    secretPatterns: JSON.parse(r.secret_patterns) as RepositoryView['secretPatterns'],
    prScan: r.pr_scan === 1,
    modelReview: r.model_review === 1,
    scannedSha: r.scanned_sha,
    scannedAt: r.scanned_at,
    scanError: r.scan_error,
    openFindings,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export const FindingView = Type.Object({
  id: Type.String(),
  repositoryId: Type.String(),
  ruleId: Type.String(),
  path: Type.String(),
  line: Type.Integer(),
  redactedMatch: Type.String({
    description: 'The first characters and the length; the secret itself is never stored.',
  }),
  status: Type.Union(
    [Type.Literal('open'), Type.Literal('acknowledged'), Type.Literal('covered'), Type.Literal('resolved')],
    {
      description:
        'open: blocks the repository. acknowledged: an admin accepted it with a reason. covered: a deny rule keeps the file unreadable. resolved: no longer in the default branch.',
    },
  ),
  coveredBy: Nullable(Type.String({ description: 'The deny rule that covers the file.' })),
  firstSeenSha: Type.String(),
  firstSeenAt: Type.String(),
  lastSeenAt: Type.String(),
  acknowledgement: Nullable(Type.Object({ by: Nullable(Type.String()), at: Type.String(), reason: Type.String() })),
});
export type FindingView = Static<typeof FindingView>;

export function findingView(f: GithubFindingsTable, denyAdditions: string[]): FindingView {
  const cover = f.status === 'open' ? denyRulesFor(denyAdditions).match(f.path) : null;
  return {
    id: f.id,
    repositoryId: f.repository_id,
    ruleId: f.rule_id,
    path: f.path,
    line: f.line,
    redactedMatch: f.redacted_match,
    status: cover ? 'covered' : f.status,
    coveredBy: cover?.rule ?? null,
    firstSeenSha: f.first_seen_sha,
    firstSeenAt: f.first_seen_at,
    lastSeenAt: f.last_seen_at,
    acknowledgement: f.acknowledged_at
      ? { by: f.acknowledged_by, at: f.acknowledged_at, reason: f.acknowledged_reason ?? '' }
      : null,
  };
}

export const SuppressionView = Type.Object({
  id: Type.String(),
  repositoryId: Type.String(),
  ruleId: Type.String(),
  pathPattern: Type.String(),
  reason: Type.String(),
  createdBy: Nullable(Type.String()),
  createdAt: Type.String(),
});
export type SuppressionView = Static<typeof SuppressionView>;
export const suppressionView = (s: GithubSuppressionsTable): SuppressionView => ({
  id: s.id,
  repositoryId: s.repository_id,
  ruleId: s.rule_id,
  pathPattern: s.path_pattern,
  reason: s.reason,
  createdBy: s.created_by,
  createdAt: s.created_at,
});

export const PrScanView = Type.Object({
  id: Type.String(),
  repositoryId: Type.String(),
  pullRequest: Type.Integer(),
  headSha: Type.String(),
  baseSha: Type.String(),
  conclusion: Type.Union([Type.Literal('success'), Type.Literal('neutral'), Type.Literal('failure')]),
  summary: Type.Record(Type.String(), Type.Unknown()),
  checkRunId: Nullable(Type.String()),
  sarifId: Nullable(Type.String()),
  createdAt: Type.String(),
});
export type PrScanView = Static<typeof PrScanView>;
export const prScanView = (s: GithubPrScansTable): PrScanView => ({
  id: s.id,
  repositoryId: s.repository_id,
  pullRequest: s.pr_number,
  headSha: s.head_sha,
  baseSha: s.base_sha,
  conclusion: s.conclusion,
  summary: JSON.parse(s.summary) as Record<string, unknown>,
  checkRunId: s.check_run_id,
  sarifId: s.sarif_id,
  createdAt: s.created_at,
});
