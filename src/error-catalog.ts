import type { ErrorCodeSpec } from './errors.js';
import { AUDIT_ERROR_CODES } from './audit/error-codes.js';
import { AUTH_ERROR_CODES } from './auth/error-codes.js';
import { COMPLIANCE_ERROR_CODES } from './compliance/error-codes.js';
import { CRYPTO_ERROR_CODES } from './crypto/error-codes.js';
import { DB_ERROR_CODES } from './db/error-codes.js';
import { DOMAINS_ERROR_CODES } from './domains/error-codes.js';
import { EMAIL_ERROR_CODES } from './email/error-codes.js';
import { GATEWAY_ERROR_CODES } from './gateway/error-codes.js';
import { GITHUB_ERROR_CODES } from './github/error-codes.js';
import { HEALTH_ERROR_CODES } from './health/error-codes.js';
import { HTTP_ERROR_CODES } from './http/error-codes.js';
import { LOCKOUT_ERROR_CODES } from './lockout/error-codes.js';
import { NET_ERROR_CODES } from './net/error-codes.js';
import { NOTIFICATIONS_ERROR_CODES } from './notifications/error-codes.js';
import { ORGS_ERROR_CODES } from './orgs/error-codes.js';
import { SCIM_ERROR_CODES } from './scim/error-codes.js';
import { SSO_ERROR_CODES } from './sso/error-codes.js';
import { STREAMS_ERROR_CODES } from './streams/error-codes.js';
import { TEST_IDP_ERROR_CODES } from './test-idp/error-codes.js';
import { USERS_ERROR_CODES } from './users/error-codes.js';
import { WORKSPACE_ERROR_CODES } from './workspace/error-codes.js';

/**
 * Every error code Palisade answers with, gathered from each domain's `error-codes.ts` (files that
 * import nothing at run time). A code some domains share (`not_found`) may be declared by each of
 * them, always with the same status: loading this module fails otherwise, so one code has one status.
 */
export const ERROR_CODE_DOMAINS = {
  http: HTTP_ERROR_CODES,
  audit: AUDIT_ERROR_CODES,
  auth: AUTH_ERROR_CODES,
  compliance: COMPLIANCE_ERROR_CODES,
  crypto: CRYPTO_ERROR_CODES,
  db: DB_ERROR_CODES,
  domains: DOMAINS_ERROR_CODES,
  email: EMAIL_ERROR_CODES,
  gateway: GATEWAY_ERROR_CODES,
  github: GITHUB_ERROR_CODES,
  health: HEALTH_ERROR_CODES,
  lockout: LOCKOUT_ERROR_CODES,
  net: NET_ERROR_CODES,
  notifications: NOTIFICATIONS_ERROR_CODES,
  orgs: ORGS_ERROR_CODES,
  scim: SCIM_ERROR_CODES,
  sso: SSO_ERROR_CODES,
  streams: STREAMS_ERROR_CODES,
  'test-idp': TEST_IDP_ERROR_CODES,
  users: USERS_ERROR_CODES,
  workspace: WORKSPACE_ERROR_CODES,
} as const;

type Domains = typeof ERROR_CODE_DOMAINS;
type All = Domains[keyof Domains];
type KeysOf<T> = T extends unknown ? keyof T : never;

/** Every declared error code: `new PalisadeError` and the helpers accept only these. */
export type ErrorCode = KeysOf<All>;
/** The one HTTP status of a code. */
export type StatusOf<C extends ErrorCode> = C extends unknown
  ? All extends infer T
    ? T extends { readonly [K in C]: { readonly status: infer S } }
      ? S
      : never
    : never
  : never;
/** The codes answered with a given status (`badRequest` takes only the 400 ones). */
export type CodeWithStatus<S extends number> = { [C in ErrorCode]: StatusOf<C> extends S ? C : never }[ErrorCode];

export interface ErrorCodeEntry extends ErrorCodeSpec {
  code: string;
  /** The domains that declare it, the first being where the reference lists it. */
  domains: (keyof Domains)[];
}

const BY_CODE = new Map<string, ErrorCodeEntry>();
for (const [domain, codes] of Object.entries(ERROR_CODE_DOMAINS) as [keyof Domains, Record<string, ErrorCodeSpec>][]) {
  for (const [code, spec] of Object.entries(codes)) {
    const seen = BY_CODE.get(code);
    if (seen && seen.status !== spec.status)
      throw new Error(
        `error code ${code} is ${seen.status} in ${seen.domains[0]} and ${spec.status} in ${domain}: one code has one status`,
      );
    if (seen) seen.domains.push(domain);
    else BY_CODE.set(code, { code, domains: [domain], ...spec });
  }
}

/** The catalog, sorted by code. */
export const ERROR_CODES: readonly ErrorCodeEntry[] = [...BY_CODE.values()].sort((a, b) => (a.code < b.code ? -1 : 1));

export function errorCodeSpec(code: string): ErrorCodeEntry | undefined {
  return BY_CODE.get(code);
}
