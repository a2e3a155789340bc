import type { AuditTables } from '../audit/tables.js';
import type { WorkspaceTables } from '../workspace/tables.js';
import type { ColumnType, Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { DomainTables } from '../domains/tables.js';
import type { ScimTables } from '../scim/tables.js';
import type { SsoTables } from '../sso/tables.js';
import type { EmailTables } from '../email/tables.js';
import type { ComplianceTables } from '../compliance/tables.js';
import type { GatewayTables } from '../gateway/tables.js';
import type { GithubTables } from '../github/tables.js';
import type { NotificationTables } from '../notifications/tables.js';
import type { TestIdpTables } from '../test-idp/tables.js';

/**
 * Table types shared by both dialects. Times are ISO-8601 UTC strings with milliseconds
 * (lexical order is time order on SQLite and PostgreSQL alike); JSON is stored as text;
 * booleans as 0/1 integers. One representation keeps one test suite honest on both engines.
 */
export type Role = 'primary_owner' | 'admin' | 'member';
export const ROLES: readonly Role[] = ['primary_owner', 'admin', 'member'];

export interface OrganizationsTable {
  id: string;
  parent_id: string | null;
  name: string;
  billing_email: string | null;
  status: 'active' | 'deleted';
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface UsersTable {
  id: string;
  email: string;
  display_name: string | null;
  password_hash: string | null;
  status: 'active' | 'suspended';
  created_at: string;
  updated_at: string;
  /**
   * When the person proved they control the address (redeemed a link delivered to it), or an
   * organization that verified the address's domain vouched for it. Null: unverified.
   */
  email_verified_at: string | null;
  /** When the password was last set; links issued before it are refused. */
  password_changed_at: string | null;
}

export interface MembershipsTable {
  id: string;
  org_id: string;
  user_id: string;
  role: Role;
  /** suspended: by an admin or by SCIM; the role is kept for reactivation, and the membership grants nothing. */
  status: 'active' | 'invited' | 'suspended';
  invited_by: string | null;
  created_at: string;
  updated_at: string;
  suspended_at: string | null;
  /** The SCIM directory that suspended the membership; only it lifts the suspension while it exists. */
  suspended_by_directory_id: string | null;
  /** The admin or owner who suspended the membership (migration 0025); only an admin lifts that part. */
  suspended_by_user_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
  ip: string | null;
  user_agent: string | null;
  revoked_at: string | null;
  auth_method: SessionAuthMethod;
}

/**
 * How a session was opened: a password, a one-time setup or invitation link, SSO, break-glass, or a
 * recovery link a primary owner issued for a member locked out of SSO (short-lived, src/sso/recovery.ts).
 */
export type SessionAuthMethod = 'password' | 'link' | 'sso' | 'break_glass' | 'recovery';

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  display_prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/**
 * One-time links. `setup`: the first owner's link (`palisade init`, `palisade org create`);
 * `invite`: an invitation of an account that has no credential yet; `reset`: a password reset;
 * `verify_email`: proves the address. Only `email` delivery reaches someone who is not the
 * installation's operator, except `shown` links of an organization that manages the address's domain.
 */
export type LinkPurpose = 'setup' | 'invite' | 'reset' | 'verify_email';
export type LinkDelivery = 'email' | 'shown';

export interface LinkTokensTable {
  id: string;
  purpose: LinkPurpose;
  token_hash: string;
  user_id: string;
  org_id: string;
  membership_id: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  delivery: LinkDelivery;
  /** The admin who asked for the link (invitation, reset), when a person did. */
  issued_by: string | null;
}

/** Sliding-window counters for every limiter (src/http/throttle-counters.ts), shared by every process on the database. */
export interface ThrottleCountersTable {
  /** What is limited: `login_account`, `login_ip`, `login_discover`, `domain_verify`, `bad_token`, … */
  bucket: string;
  /** Who or what within the bucket: an account, a client network, a domain id. */
  key: string;
  /** Start of the current window, epoch milliseconds. */
  window_ms: number;
  hits: number;
  prev_hits: number;
}

export interface AuditEventsTable {
  id: string;
  org_id: string;
  seq: number;
  occurred_at: string;
  actor_type: string;
  actor_id: string | null;
  actor_email: string | null;
  actor_ip: string | null;
  actor_user_agent: string | null;
  action: string;
  targets: string;
  outcome: 'success' | 'failure' | 'denied';
  metadata: string;
  request_id: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditChainHeadsTable {
  org_id: string;
  seq: number;
  hash: string;
}

export interface JobLeasesTable {
  name: string;
  owner: string | null;
  lease_until: string | null;
  next_run_at: string;
  last_started_at: string | null;
  last_finished_at: string | null;
  last_status: 'succeeded' | 'failed' | null;
  last_error: string | null;
  last_summary: string | null;
  runs: number;
  /** When the holder last renewed its lease (it does every third of the lease while the job runs). */
  heartbeat_at: string | null;
  /** How often the job is due; lets any process tell an overdue job from one not yet due. */
  interval_ms: number | null;
  /** Failed runs in a row; 0 after a success. */
  consecutive_failures: number;
}

/** One row per Palisade process: rewritten by the storage probe to learn whether the database accepts writes. */
export interface StorageProbesTable {
  node: string;
  written_at: string;
}

export interface RoleMappingSettingsTable {
  org_id: string;
  required_prefix: string | null;
  default_role: Role | null;
  updated_at: string;
}

export interface RoleMappingRulesTable {
  id: string;
  org_id: string;
  /** Lower-cased group name: IdPs disagree on case, matching does not. */
  group_key: string;
  group_name: string;
  role: Role;
  created_at: string;
}

/**
 * SQLite only in use (PostgreSQL notifies instead): one row, bumped by triggers whenever something the
 * gateway caches changes (migration 0023, src/cache/invalidation.ts). Empty until the first change.
 */
export interface CacheEpochTable {
  id: number;
  epoch: number;
}

/** Tables of the foundation. Each domain declares its own `…Tables` interface and DB extends it below. */
export interface CoreTables {
  organizations: OrganizationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  link_tokens: LinkTokensTable;
  throttle_counters: ThrottleCountersTable;
  audit_events: AuditEventsTable;
  audit_chain_heads: AuditChainHeadsTable;
  job_leases: JobLeasesTable;
  storage_probes: StorageProbesTable;
  role_mapping_settings: RoleMappingSettingsTable;
  role_mapping_rules: RoleMappingRulesTable;
  cache_epoch: CacheEpochTable;
}

/** Every table Palisade has. A new domain adds `, XTables` (from src/<domain>/tables.ts) here. */
export interface DB
  extends
    CoreTables,
    DomainTables,
    ScimTables,
    SsoTables,
    WorkspaceTables,
    AuditTables,
    EmailTables,
    ComplianceTables,
    GatewayTables,
    GithubTables,
    NotificationTables,
    TestIdpTables {}

export type Db = Kysely<DB>;
export type Tx = Transaction<DB>;
/** Anything queries can run on: the database or an open transaction. */
export type Queryable = Kysely<DB> | Transaction<DB>;

export type Organization = Selectable<OrganizationsTable>;
export type User = Selectable<UsersTable>;
export type Membership = Selectable<MembershipsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type NewAuditEventRow = Insertable<AuditEventsTable>;
