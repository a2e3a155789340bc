/**
 * SCIM errors (RFC 7644 §3.12): rendered as `urn:ietf:params:scim:api:messages:2.0:Error` with
 * `scimType`. Each carries a stable `cause` (for grouping in the sync log) and a human explanation
 * that says what to change in the identity provider.
 */
export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export class ScimError extends Error {
  readonly status: number;
  readonly scimType: ScimType | undefined;
  /** Stable snake_case key: sync-log failures are grouped by it. */
  readonly code: string;
  /** Response headers the error needs (Allow on a 405). */
  headers: Record<string, string> | undefined;
  constructor(status: number, code: string, detail: string, scimType?: ScimType) {
    super(detail);
    this.name = 'ScimError';
    this.status = status;
    this.code = code;
    this.scimType = scimType;
  }
}

export const scimBad = (scimType: ScimType, cause: string, detail: string) =>
  new ScimError(400, cause, detail, scimType);
export const scimNotFound = (what: 'User' | 'Group' | 'resource', id: string) =>
  new ScimError(
    404,
    'resource_not_found',
    `${what} ${JSON.stringify(id.slice(0, 100))} does not exist in this directory. It may have been deleted; the identity provider should create it again (POST) instead of updating it.`,
  );
export const scimUnauthorized = () =>
  new ScimError(
    401,
    'invalid_token',
    'The bearer token is not valid for this SCIM directory: it may be mistyped, rotated past its overlap window, or belong to another directory. Copy the current token from the directory settings in Palisade into the identity provider.',
  );

export function scimErrorBody(err: ScimError): Record<string, unknown> {
  return {
    schemas: [SCIM_ERROR_SCHEMA],
    status: String(err.status),
    ...(err.scimType ? { scimType: err.scimType } : {}),
    detail: err.message,
  };
}
