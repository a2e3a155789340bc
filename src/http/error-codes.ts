import type { ErrorCodeCatalog } from '../errors.js';

/** Request-level and shared codes (any route can answer them): each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const HTTP_ERROR_CODES = {
  authentication_required: {
    status: 401,
    message: 'Sign in, or send a personal API token as "Authorization: Bearer pls_pat_…".',
  },
  bad_request: {
    status: 400,
    message: 'The request is not valid HTTP/1.1 (request line, headers or framing). Check the client that sent it.',
  },
  body_required: { status: 400, message: 'The request declares a JSON body but sent none; send a JSON object.' },
  body_too_large: {
    status: 413,
    message: 'The request body is larger than this endpoint accepts; send less data per request.',
  },
  csrf_token_invalid: {
    status: 403,
    message:
      'Browser requests that change something must send the … header with the csrfToken from sign-in or GET /api/v1/auth/session.',
  },
  headers_too_large: {
    status: 431,
    message:
      'The request headers (or the URL) are larger than the server accepts (16 KiB in all). Send fewer or smaller headers and cookies, and a shorter URL.',
  },
  internal_error: {
    status: 500,
    message: 'Something went wrong on our side. Try again; if it persists, give your administrator this requestId.',
  },
  limits_unavailable: {
    status: 503,
    message:
      'The Redis server that holds the rate limits (PALISADE_REDIS_URL) cannot be reached, so requests that must be limited are refused rather than let through. Try again shortly; an operator checks Redis.',
  },
  invalid_authorization_header: { status: 401, message: 'Send the token as "Authorization: Bearer pls_pat_…".' },
  invalid_content_length: {
    status: 400,
    message: 'The Content-Length header does not match the body that was sent; let your HTTP client set it.',
  },
  invalid_cursor: { status: 400, message: 'page is not a next_page this list returned. Start again without page.' },
  invalid_json: {
    status: 400,
    message:
      'The body is not valid JSON (the message says where). Check quotes and commas, and send Content-Type: application/json.',
  },
  invalid_request: {
    status: 400,
    message:
      'A parameter or body field does not match the documented shape; details.field names it. Fix it as the message says (see /docs).',
  },
  invalid_time: { status: 400, message: '"…" must be an ISO 8601 time such as 2026-01-01T00:00:00Z.' },
  invalid_time_range: {
    status: 400,
    message: 'The time range is empty or reversed: `from` must be earlier than `to`.',
  },
  invalid_token: {
    status: 401,
    message:
      'This API token is not valid: it may be mistyped, expired or revoked. Create a new one under your account.',
  },
  invalid_url: {
    status: 400,
    message:
      'The URL is not valid: a percent-encoded sequence in it is not UTF-8. Encode the path with encodeURIComponent (or your HTTP library) and retry.',
  },
  method_not_allowed: {
    status: 405,
    message: '… is not supported on …; this endpoint accepts …. The API is documented at /docs.',
  },
  not_found: {
    status: 404,
    message: 'No group with that id exists in this organization, or this compliance key may not see it. Check the id.',
  },
  origin_not_allowed: {
    status: 403,
    message:
      "This change came from …, not from Palisade's own pages (…). Make the change from Palisade, or with an API token. If Palisade is served at another address, set PALISADE_PUBLIC_URL to it.",
  },
  request_timeout: {
    status: 408,
    message: 'The request took too long to arrive. Retry; if it persists, check the network between you and Palisade.',
  },
  route_not_found: { status: 404, message: 'There is no … … endpoint. The API is documented at /docs.' },
  session_required: {
    status: 403,
    message: 'Change your password from a signed-in browser session, not with an API token.',
  },
  unsupported_media_type: { status: 415, message: 'Send the body as JSON with Content-Type: application/json.' },
  uri_too_long: {
    status: 414,
    message: 'The URL is longer than the server accepts. Send the parameters in a body where the endpoint allows it.',
  },
  invalid_text: {
    status: 400,
    message:
      'A text value holds a NUL character or a lone UTF-16 surrogate, which no database can store. Send well-formed UTF-8 text; details.field names the value.',
  },
  too_deep: {
    status: 400,
    message: 'The JSON body nests deeper than any Palisade request needs. Send the documented shape (see /docs).',
  },
  forbidden_key: {
    status: 400,
    message: 'The JSON body has a key such as __proto__ or constructor that Palisade never accepts. Remove it.',
  },
} as const satisfies ErrorCodeCatalog;
