/** Compliance API tables. Times are ISO strings, JSON is text (same on both dialects). */
export interface ComplianceKeysTable {
  id: string;
  /** The top-level organization that owns the key; it sees this organization's tree. */
  org_id: string;
  name: string;
  /** SHA-256 of the secret: the secret itself is shown once and never stored. */
  token_hash: string;
  display_prefix: string;
  /** JSON array of scopes (src/compliance/scopes.ts). */
  scopes: string;
  /** JSON array of organization ids the key may see, each with its descendants; null: the whole tree. */
  org_ids: string | null;
  /** Requests per minute for this key; null: PALISADE_COMPLIANCE_RATE_LIMIT_PER_MINUTE. */
  rate_limit_per_minute: number | null;
  created_by: string | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
}

export interface ComplianceTables {
  compliance_keys: ComplianceKeysTable;
}
