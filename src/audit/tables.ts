export interface AuditSettingsTable {
  org_id: string;
  /** Days to keep events; null keeps them forever. */
  retention_days: number | null;
  updated_at: string;
}

export interface AuditAnchorsTable {
  org_id: string;
  /** First seq still in the table after a purge. */
  first_seq: number;
  /** Hash of the purged event first_seq - 1: what the first kept event links to. */
  prev_hash: string;
  checkpoint_id: string;
  updated_at: string;
}

export interface AuditSigningKeysTable {
  kid: string;
  public_jwk: string;
  private_pkcs8: string;
  status: 'active' | 'retired';
  created_at: string;
  retired_at: string | null;
}

export interface AuditCheckpointsTable {
  id: string;
  org_id: string;
  seq: number;
  hash: string;
  kind: 'periodic' | 'purge' | 'manual';
  kid: string;
  /** The canonical JSON that was signed. */
  payload: string;
  signature: string;
  created_at: string;
}

export interface AuditStreamsTable {
  id: string;
  org_id: string;
  name: string;
  kind: 'syslog_tcp' | 'syslog_tls' | 'splunk_hec' | 'datadog' | 'webhook';
  format: 'palisade' | 'ocsf' | 'cef';
  settings: string;
  /**
   * Legacy only: a credential stored in clear before migration 0009. Never written any more;
   * `sealLegacyStreamSecrets` seals it into `secret_ct` and sets this to null.
   */
  secret: string | null;
  /** HEC token, Datadog API key or webhook signing secret, sealed with the organization data key (ref: audit_streams / stream id). */
  secret_ct: string | null;
  secret_key_version: number | null;
  secret_hint: string | null;
  status: 'active' | 'paused' | 'dead_letter';
  cursor_seq: number;
  failures: number;
  next_attempt_at: string | null;
  last_success_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  /** Last seq of a batch sent and not yet acknowledged: after a crash, that range is re-sent marked as a redelivery. */
  inflight_to_seq: number | null;
  created_at: string;
  updated_at: string;
}

/** One row per (event, target id): the index behind the target filter of search and export. */
export interface AuditEventTargetsTable {
  org_id: string;
  target_id: string;
  occurred_at: string;
  event_id: string;
}

/**
 * Privacy tier for prompts in an organization's audit log: by default (no row, or null) events of
 * prompts carry metadata only (ids, sizes, model, token counts); a number opts in to excerpts of
 * that many characters. Inherited by child organizations that set nothing themselves.
 */
export interface AuditContentSettingsTable {
  org_id: string;
  prompt_excerpt_chars: number | null;
  updated_at: string;
  updated_by: string | null;
}

/**
 * Events appended by request transactions and not yet linked into their organization's chain
 * (PALISADE_AUDIT_SEALING=batched, src/audit/seal.ts). The sealer moves them into audit_events in
 * order, with seq and hashes, and deletes them here, in one transaction per batch. The columns are
 * audit_events' own, less what sealing assigns (seq, prev_hash, hash).
 */
export interface AuditPendingTable {
  id: string;
  org_id: string;
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
}

export interface AuditTables {
  audit_pending: AuditPendingTable;
  audit_content_settings: AuditContentSettingsTable;
  audit_event_targets: AuditEventTargetsTable;
  audit_settings: AuditSettingsTable;
  audit_anchors: AuditAnchorsTable;
  audit_signing_keys: AuditSigningKeysTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_streams: AuditStreamsTable;
}
