import type { AuditActionSpec } from './action-spec.js';
import { AUDIT_AUDIT_ACTIONS } from './audit-actions.js';
import { AUTH_AUDIT_ACTIONS } from '../auth/audit-actions.js';
import { COMPLIANCE_AUDIT_ACTIONS } from '../compliance/audit-actions.js';
import { CRYPTO_AUDIT_ACTIONS } from '../crypto/audit-actions.js';
import { DOMAINS_AUDIT_ACTIONS } from '../domains/audit-actions.js';
import { EMAIL_AUDIT_ACTIONS } from '../email/audit-actions.js';
import { GATEWAY_AUDIT_ACTIONS } from '../gateway/audit-actions.js';
import { GITHUB_AUDIT_ACTIONS } from '../github/audit-actions.js';
import { LOCKOUT_AUDIT_ACTIONS } from '../lockout/audit-actions.js';
import { NOTIFICATIONS_AUDIT_ACTIONS } from '../notifications/audit-actions.js';
import { ORGS_AUDIT_ACTIONS } from '../orgs/audit-actions.js';
import { SCIM_AUDIT_ACTIONS } from '../scim/audit-actions.js';
import { SSO_AUDIT_ACTIONS } from '../sso/audit-actions.js';
import { STREAMS_AUDIT_ACTIONS } from '../streams/audit-actions.js';
import { WORKSPACE_AUDIT_ACTIONS } from '../workspace/audit-actions.js';

/**
 * Every audit action Palisade writes, gathered from each domain's `audit-actions.ts` (each file
 * imports nothing at run time, so this gathering creates no dependency between domains). The
 * domain name is kept for the reference page and the API listing.
 */
export const AUDIT_ACTION_DOMAINS = {
  audit: AUDIT_AUDIT_ACTIONS,
  auth: AUTH_AUDIT_ACTIONS,
  compliance: COMPLIANCE_AUDIT_ACTIONS,
  crypto: CRYPTO_AUDIT_ACTIONS,
  domains: DOMAINS_AUDIT_ACTIONS,
  email: EMAIL_AUDIT_ACTIONS,
  gateway: GATEWAY_AUDIT_ACTIONS,
  github: GITHUB_AUDIT_ACTIONS,
  lockout: LOCKOUT_AUDIT_ACTIONS,
  notifications: NOTIFICATIONS_AUDIT_ACTIONS,
  orgs: ORGS_AUDIT_ACTIONS,
  scim: SCIM_AUDIT_ACTIONS,
  sso: SSO_AUDIT_ACTIONS,
  streams: STREAMS_AUDIT_ACTIONS,
  workspace: WORKSPACE_AUDIT_ACTIONS,
} as const;

type Domains = typeof AUDIT_ACTION_DOMAINS;
type AllActions = { [D in keyof Domains]: Domains[D] }[keyof Domains];
type Union<T> = T extends unknown ? keyof T : never;

/** Every declared action name, synthetic ones included. */
export type DeclaredAuditAction = Union<AllActions>;
type SpecOf<A extends DeclaredAuditAction> = AllActions extends infer T
  ? T extends Record<A, infer S>
    ? S
    : never
  : never;

/** The actions `recordAudit` accepts: every declared one that is stored in the chain. */
export type AuditAction = {
  [A in DeclaredAuditAction]: SpecOf<A> extends { synthetic: true } ? never : A;
}[DeclaredAuditAction];

export interface AuditActionEntry extends AuditActionSpec {
  action: DeclaredAuditAction;
  domain: keyof Domains;
}

/** The catalog, sorted by action name. */
export const AUDIT_ACTIONS: readonly AuditActionEntry[] = (
  Object.entries(AUDIT_ACTION_DOMAINS) as [keyof Domains, Record<string, AuditActionSpec>][]
)
  .flatMap(([domain, actions]) =>
    Object.entries(actions).map(([action, spec]) => ({ action: action as DeclaredAuditAction, domain, ...spec })),
  )
  .sort((a, b) => (a.action < b.action ? -1 : 1));

const BY_NAME = new Map<string, AuditActionEntry>();
for (const entry of AUDIT_ACTIONS) {
  if (BY_NAME.has(entry.action)) throw new Error(`audit action ${entry.action} is declared twice`);
  BY_NAME.set(entry.action, entry);
}
for (const entry of AUDIT_ACTIONS) {
  for (const old of entry.formerly ?? []) {
    if (BY_NAME.has(old)) throw new Error(`${old} is both declared and a former name of ${entry.action}`);
    BY_NAME.set(old, entry);
  }
}

/** The declaration of an action, found by its name or by a name it had before (stored events keep those). */
export function auditActionSpec(name: string): AuditActionEntry | undefined {
  return BY_NAME.get(name);
}

/**
 * Every stored name that means the same action as `name`: the current name and its former ones.
 * A filter for `gateway.request_handled` or `gateway.request` finds events stored under either.
 */
export function storedNamesOf(name: string): string[] {
  const entry = BY_NAME.get(name);
  return entry ? [entry.action, ...(entry.formerly ?? [])] : [name];
}

/**
 * Former names outside a prefix whose current name is inside it, and the other way round, so a
 * prefix filter (`domain.*`, `auth.log*`) matches an action whatever name its events were stored under.
 */
export function aliasesMatchingPrefix(prefix: string): string[] {
  const out: string[] = [];
  for (const entry of AUDIT_ACTIONS) {
    const names = [entry.action, ...(entry.formerly ?? [])];
    if (names.some((n) => n.startsWith(prefix))) out.push(...names.filter((n) => !n.startsWith(prefix)));
  }
  return out;
}
