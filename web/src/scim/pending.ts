import type { MappableRole, RoleMapping } from './types';

/*
 * Answers the OpenAPI document does not describe yet (these routes declare only their error
 * responses on main). Each mirrors the server function named beside it; when the API gets its
 * success schema, replace the type with the generated one (types.ts) and delete it here.
 */

/** One group of a person, judged by the mapping (src/orgs/role-mapping.ts GroupEvaluation). */
export interface GroupEvaluation {
  group: string;
  outcome: 'matched' | 'missing_prefix' | 'no_rule';
  role?: MappableRole;
  expected?: string;
  explanation: string;
}

/** POST …/role-preview (src/scim/preview.ts previewDirectoryRoles). */
export interface RolePreview {
  mapping: RoleMapping;
  groups: GroupEvaluation[];
  users: {
    scimUserId: string;
    userName: string;
    email: string | null;
    active: boolean;
    currentRole: string | null;
    membershipStatus: string | null;
    source: 'rule' | 'default' | 'none';
    groups: GroupEvaluation[];
    wouldGet: string | null;
    changes: boolean;
    note?: string;
  }[];
  summary: {
    wouldChange: number;
    mapping: 'proposed' | 'saved';
    roleSync: boolean;
    applyWith: string;
    message: string;
  };
}

/** POST …/apply-roles (src/scim/preview.ts applyDirectoryRoles). */
export interface AppliedRoles {
  users: number;
  changed: { userName: string; from: string | null; to: string | null }[];
  refused: { cause: string; explanation: string; user?: string; group?: string }[];
}

/** GET …/sync-log/problems (src/scim/sync-log.ts syncProblems). */
export interface SyncProblems {
  problems: {
    cause: string;
    outcome: string;
    count: number;
    entries: number;
    firstSeen: string;
    lastSeen: string;
    status: number | null;
    scimType: string | null;
    explanation: string | null;
    users: string[];
    groups: string[];
  }[];
}
