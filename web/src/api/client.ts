import createClient, { type Middleware } from 'openapi-fetch';
import type { components, operations, paths } from './schema';

/** The one error shape of the API (`{ error: { code, message, requestId } }`), as the console shows it. */
export type ApiErrorBody = components['schemas']['Error'];
export type { components, operations, paths };

/**
 * An answer that was not a success. Every page shows it with <ApiErrorAlert> or notifyError(), so a
 * person always sees the API's own words and the request id an operator can find in the logs.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;
/** Set from /api/v1/auth/session and from every sign-in answer; state changes send it back. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

let unauthorized: (err: ApiError) => void = () => {};
/** Called on any 401 (the session expired or was ended elsewhere); the app sends the person to sign in. */
export function onUnauthorized(handler: (err: ApiError) => void): void {
  unauthorized = handler;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

async function toApiError(response: Response): Promise<ApiError> {
  const requestId = response.headers.get('x-request-id');
  let body: unknown = null;
  try {
    body = await response.clone().json();
  } catch {
    body = null;
  }
  const e = (body as Partial<ApiErrorBody> | null)?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string')
    return new ApiError(response.status, e.code, e.message, e.requestId ?? requestId);
  return new ApiError(
    response.status,
    'http_error',
    `The server answered ${response.status} ${response.statusText}`.trim(),
    requestId,
  );
}

const middleware: Middleware = {
  onRequest({ request }) {
    // A browser session needs the CSRF token on state changes (the cookie alone is refused).
    if (!SAFE.has(request.method) && csrfToken) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
  async onResponse({ response, request }) {
    if (response.ok) return response;
    const err = await toApiError(response);
    // Asking who is signed in answers 401 when no one is: that is an answer, not an expiry.
    if (err.status === 401 && !new URL(request.url).pathname.startsWith('/api/v1/auth/')) unauthorized(err);
    throw err;
  },
  onError({ error }) {
    // The network failed (server down, offline): the same shape, so the same component shows it.
    if (error instanceof ApiError) return error;
    return new ApiError(
      0,
      'network_error',
      'Palisade could not be reached. Check your connection and try again.',
      null,
    );
  },
};

/** The typed client: every path, parameter and body comes from web/src/api/schema.d.ts. */
export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(middleware);

/**
 * The body of a successful answer. Errors never get here (the middleware throws ApiError), so a
 * page reads `const org = await data(api.GET(...))` and handles failure in one place.
 */
export async function data<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const r = await call;
  return r.data as T;
}

/** The JSON body of a 200 answer of an operation, by operationId. */
export type Ok<Op extends keyof operations> = operations[Op] extends { responses: { 200: { content: infer C } } }
  ? C extends { 'application/json': infer J }
    ? J
    : never
  : never;
/** The JSON body of a 201 answer of an operation, by operationId. */
export type Created<Op extends keyof operations> = operations[Op] extends {
  responses: { 201: { content: infer C } };
}
  ? C extends { 'application/json': infer J }
    ? J
    : never
  : never;
