import { PalisadeError } from '../errors.js';

/**
 * Every error code the GitHub integration answers with, declared once with its status (a typed
 * catalog for the whole product is coming; this closed union is its GitHub part). docs/github.md
 * lists each with its meaning and what to do; a test fails when one is undocumented.
 */
export const GITHUB_ERRORS = {
  github_api_url_invalid: 400,
  github_private_key_invalid: 400,
  github_installation_not_found: 404,
  github_repository_not_in_installation: 404,
  github_repository_already_allowlisted: 409,
  github_unreachable: 502,
  github_api_error: 502,
  github_git_failed: 502,
  invalid_repository_path: 400,
  invalid_search_query: 400,
  invalid_deny_rule: 400,
  invalid_suppression: 400,
  invalid_secret_pattern: 400,
  path_denied: 403,
  repository_access_denied: 403,
  repository_not_readable: 409,
  repository_scan_pending: 409,
  file_not_found: 404,
  file_too_large: 413,
  binary_file: 422,
  symlink_outside_repository: 403,
  pull_request_not_found: 404,
  diff_too_large: 413,
  finding_not_open: 409,
  webhook_signature_invalid: 401,
  webhook_delivery_replayed: 409,
  webhook_payload_invalid: 400,
  webhook_payload_too_large: 413,
  webhook_connection_unknown: 404,
} as const satisfies Record<string, number>;

export type GithubErrorCode = keyof typeof GITHUB_ERRORS;

export function githubError(code: GithubErrorCode, message: string, details?: Record<string, unknown>): PalisadeError {
  return new PalisadeError(GITHUB_ERRORS[code], code, message, details ? { details } : {});
}
