/**
 * Nothing secret reaches a log line, at any level. Two layers:
 * - `LOG_REDACT_PATHS`: the known places credentials sit in logged objects (request headers,
 *   including the copy @fastify/multipart logs as `busboyOptions` at trace level, and body fields),
 *   censored by pino before serialization;
 * - `scrubSecrets`: a last pass over every serialized line for anything shaped like a credential
 *   that slipped through an unknown path (a library logging a header object under another name):
 *   Palisade's prefixed secrets, bearer tokens and the session cookie.
 */
const HEADER_NAMES = [
  'authorization',
  'cookie',
  '"set-cookie"',
  '"x-csrf-token"',
  '"x-api-key"',
  '"proxy-authorization"',
];

export const LOG_REDACT_PATHS: string[] = [
  ...HEADER_NAMES.flatMap((h) => [
    `req.headers.${h}`,
    `res.headers.${h}`,
    `headers.${h}`,
    `*.headers.${h}`,
    `busboyOptions.headers.${h}`,
  ]).map((p) => p.replace(/\.\"/g, '["').replace(/\"$/, '"]')),
  ...['password', 'currentPassword', 'newPassword', 'token', 'secret', 'clientSecret', 'client_secret'].flatMap((f) => [
    f,
    `*.${f}`,
    `body.${f}`,
  ]),
];

const SECRET_PATTERNS: [RegExp, string][] = [
  [/pls_(ses|pat|lnk|scim|gwk|cmp|nwh)_[A-Za-z0-9_-]{6,}/g, 'pls_$1_[redacted]'],
  [/(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, '$1[redacted]'],
  [/(palisade_session=)[^;"\s\\]+/g, '$1[redacted]'],
];

export function scrubSecrets(line: string): string {
  let out = line;
  for (const [re, replacement] of SECRET_PATTERNS) out = out.replace(re, replacement);
  return out;
}
