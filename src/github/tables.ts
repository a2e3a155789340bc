/** GitHub integration tables (migration 0020). Times are ISO strings, JSON is text, booleans 0/1. */
export interface GithubConnectionsTable {
  id: string;
  org_id: string;
  name: string;
  app_id: string;
  /** https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
  api_base_url: string;
  private_key_ct: string;
  private_key_key_version: number;
  webhook_secret_ct: string;
  webhook_secret_key_version: number;
  status: 'active' | 'deleted';
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface GithubInstallationsTable {
  id: string;
  org_id: string;
  connection_id: string;
  installation_id: string;
  account_login: string;
  created_at: string;
}

export type RepositoryStatus = 'pending_scan' | 'blocked' | 'enabled';

export interface GithubRepositoriesTable {
  id: string;
  org_id: string;
  connection_id: string;
  installation_id: string;
  github_id: string;
  full_name: string;
  default_branch: string;
  status: RepositoryStatus;
  allowed_roles: string | null;
  allowed_groups: string | null;
  deny_rules: string;
  secret_patterns: string;
  pr_scan: number;
  model_review: number;
  scanned_sha: string | null;
  scanned_at: string | null;
  scan_error: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export type FindingStatus = 'open' | 'acknowledged' | 'resolved';

export interface GithubFindingsTable {
  id: string;
  org_id: string;
  repository_id: string;
  fingerprint: string;
  rule_id: string;
  path: string;
  line: number;
  redacted_match: string;
  status: FindingStatus;
  first_seen_sha: string;
  first_seen_at: string;
  last_seen_at: string;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  acknowledged_reason: string | null;
}

export interface GithubSuppressionsTable {
  id: string;
  org_id: string;
  repository_id: string;
  rule_id: string;
  path_pattern: string;
  reason: string;
  created_by: string | null;
  created_at: string;
}

export interface GithubWebhookDeliveriesTable {
  connection_id: string;
  delivery_id: string;
  event: string;
  received_at: string;
}

export type GithubJobKind = 'repository_scan' | 'pull_request_scan';

export interface GithubJobsTable {
  id: string;
  org_id: string;
  repository_id: string;
  kind: GithubJobKind;
  payload: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  attempts: number;
  lease_owner: string | null;
  lease_until: string | null;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface GithubPrScansTable {
  id: string;
  org_id: string;
  repository_id: string;
  pr_number: number;
  head_sha: string;
  base_sha: string;
  conclusion: 'success' | 'neutral' | 'failure';
  summary: string;
  check_run_id: string | null;
  sarif_id: string | null;
  created_at: string;
}

export interface GithubTables {
  github_connections: GithubConnectionsTable;
  github_installations: GithubInstallationsTable;
  github_repositories: GithubRepositoriesTable;
  github_findings: GithubFindingsTable;
  github_suppressions: GithubSuppressionsTable;
  github_webhook_deliveries: GithubWebhookDeliveriesTable;
  github_jobs: GithubJobsTable;
  github_pr_scans: GithubPrScansTable;
}
