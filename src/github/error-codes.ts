import type { ErrorCodeCatalog } from '../errors.js';

/** The GitHub integration: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const GITHUB_ERROR_CODES = {
  binary_file: { status: 422, message: '"…" is a binary file (… bytes); the tools return text only.' },
  diff_too_large: {
    status: 413,
    message: 'The diff of pull request #… is larger than … MiB; read the changed files one by one instead.',
  },
  file_not_found: {
    status: 404,
    message:
      'There is no such file or directory in the repository at that commit (or it is a submodule). List the directory to see what is there.',
  },
  file_too_large: {
    status: 413,
    message:
      'The file is larger than the tools return (PALISADE_GITHUB_MAX_FILE_BYTES). Search it instead of reading it whole.',
  },
  finding_not_open: { status: 409, message: 'This finding is …; only open findings are acknowledged.' },
  github_api_error: {
    status: 502,
    message:
      "GitHub answered the call with an error (its status and message are included). Check the App's permissions and installation on GitHub.",
  },
  github_api_url_invalid: { status: 400, message: 'apiBaseUrl must not carry credentials, a query or a fragment.' },
  github_git_failed: {
    status: 502,
    message: 'Reading the repository tree failed; retry, and if it persists report the request id.',
  },
  github_installation_not_found: {
    status: 404,
    message:
      'GitHub knows no installation … of this App. List them with GET …/github/connections/…/available-installations.',
  },
  github_private_key_invalid: {
    status: 400,
    message:
      'privateKey must be the RSA private key GitHub generated for the App, in PEM form (-----BEGIN RSA PRIVATE KEY----- …). Generate a new one under the App settings → Private keys if you lost it.',
  },
  github_repository_already_allowlisted: {
    status: 409,
    message: '… is already on the allowlist (…); change it with PATCH …/github/repositories/….',
  },
  github_repository_not_in_installation: {
    status: 404,
    message:
      'Installation … cannot read …. Grant the App access to that repository on GitHub, or pick the installation that has it.',
  },
  github_unreachable: {
    status: 502,
    message:
      'GitHub could not be reached for …. Check the API base URL and the network; Palisade will retry scheduled work.',
  },
  invalid_deny_rule: {
    status: 400,
    message: 'A repository may add at most … deny rules; group paths with globs (secrets/**, *.pem).',
  },
  invalid_repository_path: {
    status: 400,
    message:
      'The path is not usable here: a directory where a file is expected, or a path outside the repository. Give a repository-relative file path, or list the directory.',
  },
  invalid_search_query: { status: 400, message: 'Give q, the text to find, of 2 to 200 characters.' },
  invalid_secret_pattern: {
    status: 400,
    message: 'The secret pattern … must be at most 500 characters and must not match an empty string.',
  },
  invalid_suppression: {
    status: 400,
    message: 'There is no rule "…". GET /api/v1/orgs/…/github/rules lists the rules.',
  },
  path_denied: {
    status: 403,
    message:
      'A deny rule of the repository (or its .palisadeignore) withholds this path from the assistant. Ask an admin if the rule should change.',
  },
  pull_request_not_found: {
    status: 404,
    message: 'The repository has no pull request with that number. Check the number.',
  },
  repository_access_denied: {
    status: 403,
    message: '… is limited to members with …. Ask an admin of this organization if you need it.',
  },
  repository_not_readable: {
    status: 409,
    message:
      '… is not readable: its secret scan found credentials that an admin must acknowledge or cover with a deny rule first.',
  },
  repository_scan_pending: {
    status: 409,
    message:
      '… is waiting for its first secret scan; it becomes readable when the scan is clear. Try again in a minute.',
  },
  symlink_outside_repository: {
    status: 403,
    message:
      '"…" is a symbolic link to "…", which is outside the repository (or a chain of links); Palisade does not follow it.',
  },
  unknown_tool: { status: 400, message: 'There is no repository tool with that name. Use one the tool list names.' },
  webhook_connection_unknown: {
    status: 404,
    message: 'No GitHub connection answers at this URL. Copy the webhook URL again from the connection in Palisade.',
  },
  webhook_delivery_replayed: {
    status: 409,
    message:
      'Delivery … was already received; a delivery is processed once. Trigger a new event (or re-run the scan from Palisade) instead.',
  },
  webhook_payload_invalid: {
    status: 400,
    message:
      "The webhook body is not a GitHub event Palisade can read (not a JSON object, or missing fields). Check the webhook is GitHub's, content type application/json.",
  },
  webhook_payload_too_large: {
    status: 413,
    message: 'The delivery is larger than 25 MB; GitHub caps payloads at 25 MB.',
  },
  webhook_signature_invalid: {
    status: 401,
    message:
      "The X-Hub-Signature-256 header does not match the body under this connection's webhook secret. Set the same secret in the GitHub App and in Palisade.",
  },
} as const satisfies ErrorCodeCatalog;
