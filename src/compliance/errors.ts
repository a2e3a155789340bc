import { type ErrorCode, PalisadeError } from '../errors.js';
import type { StatusOf } from '../error-catalog.js';

/**
 * Every error code the Compliance API and its key administration answer with, each with its one
 * HTTP status (the one its `error-codes.ts` declares: a different one is a compile error).
 * docs/compliance-api.md lists them with what to do; a test holds the two together.
 */
export const COMPLIANCE_ERRORS = {
  authentication_required: 401,
  invalid_authorization_header: 401,
  invalid_compliance_key: 401,
  missing_scope: 403,
  compliance_keys_top_level_only: 403,
  compliance_key_needs_session: 403,
  invalid_request: 400,
  invalid_organization_ids: 400,
  conflicting_cursors: 400,
  invalid_cursor: 400,
  invalid_time: 400,
  invalid_time_range: 400,
  invalid_activity_type: 400,
  too_many_filter_values: 400,
  not_found: 404,
  route_not_found: 404,
  legal_hold: 409,
  content_shredded: 410,
  compliance_rate_limited: 429,
  too_many_invalid_tokens: 429,
  internal_error: 500,
} as const satisfies { [C in ErrorCode]?: StatusOf<C> };

export type ComplianceErrorCode = keyof typeof COMPLIANCE_ERRORS;

export function complianceError(
  code: ComplianceErrorCode,
  message: string,
  details?: Record<string, unknown>,
  headers?: Record<string, string>,
): PalisadeError {
  return new PalisadeError(COMPLIANCE_ERRORS[code], code, message, {
    ...(details ? { details } : {}),
    ...(headers ? { headers } : {}),
  });
}

/** "Does not exist" and "exists outside what this key may see" answer alike, so ids never leak. */
export const notVisible = (what: string) =>
  complianceError(
    'not_found',
    `No ${what} with that id exists, or this compliance key may not see it (it is limited to some organizations). Check the id and the key's organizations.`,
  );
