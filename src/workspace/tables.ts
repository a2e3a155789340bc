/** Tables of the protected workspace: encryption keys, conversations, files, retention, the gateway. */
export interface OrgDataKeysTable {
  id: string;
  org_id: string;
  version: number;
  /** Which key-encryption key wrapped it: `local:<id>` or `pkcs11:<label>`. */
  kek_id: string;
  wrapped_key: string;
  /** destroyed: crypto-shredded; wrapped_key is emptied and the version number stays taken. */
  status: 'active' | 'retired' | 'destroyed';
  created_at: string;
  rewrapped_at: string | null;
}

/** A conversation's or file's own key (src/crypto/content-keys.ts): deleting the row erases the content. */
export interface ContentKeysTable {
  id: string;
  org_id: string;
  dk_version: number;
  wrapped_key: string;
  created_at: string;
}

export interface OrgKeyShredsTable {
  org_id: string;
  shredded_at: string;
  shredded_by: string | null;
}

export interface WorkspaceSettingsTable {
  org_id: string;
  /** null inherits the parent organization's period (or the installation default). */
  retention_days: number | null;
  no_training: number;
  /** JSON array of CIDRs; null or empty: any address. */
  ip_allowlist: string | null;
  updated_at: string;
}

export interface WorkspaceConversationsTable {
  id: string;
  org_id: string;
  user_id: string;
  source: 'workspace' | 'gateway';
  title_ct: string | null;
  key_version: number | null;
  /** The key its title and messages are sealed with; null: nothing retained yet (or sealed before content keys). */
  content_key_id: string | null;
  /** Overrides the organization's period for this conversation and its messages. */
  retention_days: number | null;
  created_at: string;
  updated_at: string;
  last_message_at: string;
}

export interface WorkspaceMessagesTable {
  id: string;
  org_id: string;
  conversation_id: string;
  role: 'user' | 'assistant';
  content_ct: string;
  key_version: number;
  content_key_id: string | null;
  size_bytes: number;
  model: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  created_at: string;
}

export interface WorkspaceFilesTable {
  id: string;
  org_id: string;
  user_id: string;
  name_ct: string;
  content_ct: string;
  key_version: number;
  content_key_id: string | null;
  content_type: string;
  size_bytes: number;
  sha256: string;
  retention_days: number | null;
  created_at: string;
}

export interface LegalHoldsTable {
  id: string;
  org_id: string;
  /** null: the whole organization. */
  user_id: string | null;
  reason: string;
  placed_by: string | null;
  placed_at: string;
  lifted_by: string | null;
  lifted_at: string | null;
}

export interface GatewayKeysTable {
  id: string;
  org_id: string;
  user_id: string;
  name: string;
  token_hash: string;
  display_prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface GatewayUpstreamsTable {
  id: string;
  org_id: string;
  name: string;
  kind: 'anthropic' | 'openai';
  base_url: string;
  credential_ct: string | null;
  key_version: number | null;
  is_default: number;
  /** JSON array of model names or `prefix*` patterns; null: every model the provider offers. */
  allowed_models: string | null;
  created_at: string;
  updated_at: string;
}

export interface GatewayUsageTable {
  org_id: string;
  user_id: string;
  day: string;
  model: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
}

export interface WorkspaceTables {
  org_data_keys: OrgDataKeysTable;
  content_keys: ContentKeysTable;
  org_key_shreds: OrgKeyShredsTable;
  workspace_settings: WorkspaceSettingsTable;
  workspace_conversations: WorkspaceConversationsTable;
  workspace_messages: WorkspaceMessagesTable;
  workspace_files: WorkspaceFilesTable;
  legal_holds: LegalHoldsTable;
  gateway_keys: GatewayKeysTable;
  gateway_upstreams: GatewayUpstreamsTable;
  gateway_usage: GatewayUsageTable;
}
