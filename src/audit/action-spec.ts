/**
 * The shape every domain's `audit-actions.ts` declares its actions in. The domain files import
 * this module for types only, so they stay import-free leaves: the aggregated catalog
 * (src/audit/actions.ts) can read them without any domain depending on another at run time.
 */

/** The OCSF 1.1 class and activity a SIEM files an action under (src/streams/formats.ts renders it). */
export const OCSF_ACTIVITIES = {
  'Authentication: Logon': { classUid: 3002, activityId: 1 },
  'Authentication: Logoff': { classUid: 3002, activityId: 2 },
  'Account Change: Create': { classUid: 3001, activityId: 1 },
  'Account Change: Enable': { classUid: 3001, activityId: 2 },
  'Account Change: Password Change': { classUid: 3001, activityId: 3 },
  'Account Change: Password Reset': { classUid: 3001, activityId: 4 },
  'Account Change: Disable': { classUid: 3001, activityId: 5 },
  'Account Change: Delete': { classUid: 3001, activityId: 6 },
  'Account Change: Attach Policy': { classUid: 3001, activityId: 7 },
  'Account Change: Detach Policy': { classUid: 3001, activityId: 8 },
  'Account Change: Lock': { classUid: 3001, activityId: 9 },
  'Account Change: MFA Factor Enable': { classUid: 3001, activityId: 10 },
  'Account Change: MFA Factor Disable': { classUid: 3001, activityId: 11 },
  'Account Change: Other': { classUid: 3001, activityId: 99 },
  'API Activity: Create': { classUid: 6003, activityId: 1 },
  'API Activity: Read': { classUid: 6003, activityId: 2 },
  'API Activity: Update': { classUid: 6003, activityId: 3 },
  'API Activity: Delete': { classUid: 6003, activityId: 4 },
  'API Activity: Other': { classUid: 6003, activityId: 99 },
} as const satisfies Record<string, { classUid: number; activityId: number }>;

export type OcsfActivity = keyof typeof OCSF_ACTIVITIES;

export interface AuditActionSpec {
  /** The OCSF class and activity, written as OCSF names them ("Class: Activity"). */
  ocsf: OcsfActivity;
  /**
   * Security-relevant: a change to who can sign in, with which rights, to security settings, keys
   * or the audit trail itself, or a refusal of such a change. Routine use of the workspace
   * (a message sent, a file listed) is not. The console and notification rules default to these.
   */
  security: boolean;
  /** One line: what happened and what the event records. */
  description: string;
  /**
   * Names this action was written under before it was renamed. Audit events are hash-chained and
   * never rewritten, so older events keep the old name; search, export and the Compliance API
   * treat each former name as this action.
   */
  formerly?: readonly string[];
  /** Never stored in the audit chain (a synthetic event sent only to a SIEM destination). */
  synthetic?: boolean;
}

/** What a domain's `audit-actions.ts` exports: action name → its declaration. */
export type AuditActionCatalog = Record<`${string}.${string}`, AuditActionSpec>;
