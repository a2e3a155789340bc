import { type ErrorCode, PalisadeError } from '../errors.js';
import type { StatusOf } from '../error-catalog.js';

/** Palisade errors rendered in the shapes SDKs expect: Anthropic's and OpenAI's. */
const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'invalid_request_error',
  410: 'invalid_request_error',
  413: 'request_too_large',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

export function anthropicError(err: PalisadeError, requestId: string) {
  return {
    type: 'error',
    error: { type: ANTHROPIC_TYPES[err.status] ?? 'api_error', message: `${err.message} (${err.code})` },
    request_id: requestId,
  };
}

export function openaiError(err: PalisadeError) {
  const type =
    err.status === 401
      ? 'invalid_request_error'
      : err.status === 429
        ? 'rate_limit_exceeded'
        : err.status >= 500
          ? 'server_error'
          : 'invalid_request_error';
  const field = (err.details as { field?: unknown } | undefined)?.field;
  return { error: { message: err.message, type, param: typeof field === 'string' ? field : null, code: err.code } };
}

export const gatewayError = <C extends ErrorCode>(status: StatusOf<C>, code: C, message: string) =>
  new PalisadeError<C>(status, code, message);

/** The model gateway's paths (not the Compliance API's, which share the /v1 prefix): every error there, even one raised before routing, is in a provider's shape. */
export const isGatewayPath = (url: string): boolean =>
  (url.startsWith('/v1/') && !url.startsWith('/v1/compliance')) || url === '/v1';

/** A Palisade error on a gateway path, in OpenAI's shape for chat completions and Anthropic's elsewhere. */
export function gatewayErrorBody(url: string, err: PalisadeError, requestId: string): unknown {
  return url.startsWith('/v1/chat/completions') ? openaiError(err) : anthropicError(err, requestId);
}
