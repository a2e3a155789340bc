/** SCIM tables. Times are ISO strings, JSON is text, booleans are 0/1 integers (same on both dialects). */
export interface ScimDirectoriesTable {
  id: string;
  org_id: string;
  name: string;
  /** 1: group membership drives roles; 0: roles stay as they are (preview only). */
  role_sync: number;
  status: 'active' | 'deleted';
  created_at: string;
  updated_at: string;
}

export interface ScimTokensTable {
  id: string;
  directory_id: string;
  token_hash: string;
  display_prefix: string;
  created_at: string;
  /** Set when a newer token replaces this one: the end of the overlap window. */
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface ScimUsersTable {
  id: string;
  directory_id: string;
  org_id: string;
  /**
   * The Palisade user this SCIM user is linked to; null while the identity provider has sent no
   * usable email address (the SCIM user exists, the person cannot sign in until an address arrives).
   */
  user_id: string | null;
  user_name: string;
  /** Lower-cased userName: uniqueness is case-insensitive (RFC 7643 userName caseExact=false). */
  user_name_key: string;
  /** Not unique (RFC 7643: uniqueness "none"); the sync log warns when two users share one. */
  external_id: string | null;
  /** Access as Palisade applies it (1 active, 0 suspended); the resource may leave `active` unassigned. */
  active: number;
  /** The stored SCIM resource (core + extensions), without id, meta and groups. */
  resource: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ScimGroupsTable {
  id: string;
  directory_id: string;
  org_id: string;
  display_name: string;
  display_key: string;
  external_id: string | null;
  resource: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ScimGroupMembersTable {
  group_id: string;
  scim_user_id: string;
  directory_id: string;
  created_at: string;
}

export interface ScimSyncLogTable {
  id: string;
  directory_id: string;
  org_id: string;
  occurred_at: string;
  method: string;
  path: string;
  operation: string;
  resource_type: string | null;
  resource_id: string | null;
  user_name: string | null;
  group_name: string | null;
  /** success | warning | failure */
  outcome: string;
  status: number;
  scim_type: string | null;
  /** Stable key failures are grouped by (error code or mapping outcome). */
  cause: string | null;
  explanation: string | null;
  details: string;
  request_id: string;
  /** How many requests this row stands for: 1, or the aggregated authentication failures of one minute. */
  occurrences: number;
  /** Set on aggregated rows (unique): `auth:<directoryId>:<minute>`. */
  aggregate_key: string | null;
}

export interface ScimTables {
  scim_directories: ScimDirectoriesTable;
  scim_tokens: ScimTokensTable;
  scim_users: ScimUsersTable;
  scim_groups: ScimGroupsTable;
  scim_group_members: ScimGroupMembersTable;
  scim_sync_log: ScimSyncLogTable;
}
