import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * The GitHub integration (src/github/):
 * - `github_connections`: a GitHub App an organization connected. The private key and the webhook
 *   secret are sealed with the organization's data key (columns *_ct + *_key_version).
 * - `github_installations`: the App's installations the organization picked.
 * - `github_repositories`: the allowlist. A row is a repository the assistant may reach once its
 *   secret scan is clear; access may be narrowed to roles and IdP groups; per-repository deny rules.
 * - `github_findings`: secret-scan findings (path, line, rule, redacted match; never the secret) and
 *   their acknowledgement.
 * - `github_suppressions`: admin suppressions of PR-scan rules (inline and repository-file ones are
 *   read from the code and audited when applied).
 * - `github_webhook_deliveries`: every accepted delivery id, so a replayed delivery is refused.
 * - `github_jobs`: scans to run (push, enablement, pull request), leased like the email outbox.
 * - `github_pr_scans`: the outcome of each pull-request scan.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('github_connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('api_base_url', 'text', (c) => c.notNull())
    .addColumn('private_key_ct', 'text', (c) => c.notNull())
    .addColumn('private_key_key_version', 'integer', (c) => c.notNull())
    .addColumn('webhook_secret_ct', 'text', (c) => c.notNull())
    .addColumn('webhook_secret_key_version', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('github_connections_org').on('github_connections').columns(['org_id', 'id']).execute();

  await db.schema
    .createTable('github_installations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    /** GitHub's numeric installation id, as text. */
    .addColumn('installation_id', 'text', (c) => c.notNull())
    .addColumn('account_login', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('github_installations_unique')
    .on('github_installations')
    .columns(['connection_id', 'installation_id'])
    .unique()
    .execute();

  await db.schema
    .createTable('github_repositories')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('installation_id', 'text', (c) => c.notNull())
    .addColumn('github_id', 'text', (c) => c.notNull())
    .addColumn('full_name', 'text', (c) => c.notNull())
    .addColumn('default_branch', 'text', (c) => c.notNull())
    /** pending_scan → blocked (open findings) or enabled (readable). */
    .addColumn('status', 'text', (c) => c.notNull())
    /** JSON: roles that may use the repository (null: every member). */
    .addColumn('allowed_roles', 'text')
    /** JSON: SCIM or SSO group names, one of which a member must be in (null: no group needed). */
    .addColumn('allowed_groups', 'text')
    /** JSON: gitignore-style patterns added to the default deny set. */
    .addColumn('deny_rules', 'text', (c) => c.notNull())
    /** JSON: the admin's own secret patterns [{ id, pattern, description }], added to the scanner's. */
    .addColumn('secret_patterns', 'text', (c) => c.notNull())
    .addColumn('pr_scan', 'integer', (c) => c.notNull())
    .addColumn('model_review', 'integer', (c) => c.notNull())
    /** The commit of the default branch the last complete secret scan covered; reads serve this commit. */
    .addColumn('scanned_sha', 'text')
    .addColumn('scanned_at', 'text')
    .addColumn('scan_error', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('github_repositories_unique')
    .on('github_repositories')
    .columns(['org_id', 'connection_id', 'github_id'])
    .unique()
    .execute();
  await db.schema
    .createIndex('github_repositories_name')
    .on('github_repositories')
    .columns(['connection_id', 'full_name'])
    .execute();

  await db.schema
    .createTable('github_findings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('repository_id', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('rule_id', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('line', 'integer', (c) => c.notNull())
    .addColumn('redacted_match', 'text', (c) => c.notNull())
    /** open | acknowledged | resolved (no longer in the tree). "Covered by a deny rule" is computed. */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('first_seen_sha', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('acknowledged_by', 'text')
    .addColumn('acknowledged_at', 'text')
    .addColumn('acknowledged_reason', 'text')
    .execute();
  await db.schema
    .createIndex('github_findings_unique')
    .on('github_findings')
    .columns(['repository_id', 'fingerprint'])
    .unique()
    .execute();
  await db.schema
    .createIndex('github_findings_org')
    .on('github_findings')
    .columns(['org_id', 'repository_id', 'status', 'id'])
    .execute();

  await db.schema
    .createTable('github_suppressions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('repository_id', 'text', (c) => c.notNull())
    .addColumn('rule_id', 'text', (c) => c.notNull())
    /** gitignore-style pattern of the paths it covers. */
    .addColumn('path_pattern', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('github_suppressions_repo')
    .on('github_suppressions')
    .columns(['org_id', 'repository_id', 'id'])
    .execute();

  await db.schema
    .createTable('github_webhook_deliveries')
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('github_webhook_deliveries_pk', ['connection_id', 'delivery_id'])
    .execute();
  await db.schema
    .createIndex('github_webhook_deliveries_age')
    .on('github_webhook_deliveries')
    .column('received_at')
    .execute();

  await db.schema
    .createTable('github_jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('repository_id', 'text', (c) => c.notNull())
    /** repository_scan | pull_request_scan */
    .addColumn('kind', 'text', (c) => c.notNull())
    /** JSON: what the job needs (pull request number, head and base commits, the delivery id). */
    .addColumn('payload', 'text', (c) => c.notNull())
    /** queued → running → done | failed */
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('github_jobs_due').on('github_jobs').columns(['status', 'id']).execute();

  await db.schema
    .createTable('github_pr_scans')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('repository_id', 'text', (c) => c.notNull())
    .addColumn('pr_number', 'integer', (c) => c.notNull())
    .addColumn('head_sha', 'text', (c) => c.notNull())
    .addColumn('base_sha', 'text', (c) => c.notNull())
    .addColumn('conclusion', 'text', (c) => c.notNull())
    /** JSON: counts by rule and level, suppressed count, timings, what was published. */
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('check_run_id', 'text')
    .addColumn('sarif_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('github_pr_scans_repo')
    .on('github_pr_scans')
    .columns(['org_id', 'repository_id', 'id'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of [
    'github_pr_scans',
    'github_jobs',
    'github_webhook_deliveries',
    'github_suppressions',
    'github_findings',
    'github_repositories',
    'github_installations',
    'github_connections',
  ])
    await db.schema.dropTable(t).execute();
}
