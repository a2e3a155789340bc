import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { databaseFaultOf, faultError } from '../db/faults.js';
import { PalisadeError } from '../errors.js';
import { newId } from '../ids.js';

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: Record<string, unknown> };
}

export function errorBody(err: PalisadeError, requestId: string): ErrorBody {
  return {
    error: { code: err.code, message: err.message, requestId, ...(err.details ? { details: err.details } : {}) },
  };
}

interface ValidationIssue {
  instancePath?: string;
  schemaPath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/**
 * The first failure, said so a person can fix it. A union of literals (`kind`, `format`) fails
 * every branch with AJV's "must be equal to constant"; say instead which values are accepted.
 */
function validationMessage(issues: ValidationIssue[]): string {
  const first = issues[0];
  if (!first) return 'does not match the schema';
  const alternatives: string[] = [];
  let onlyValues = true;
  const same = issues.filter((x) => x.instancePath === first.instancePath);
  // A literal branch ({type: "string", const: "forever"}) is named by its value, not its type.
  const branch = (i: ValidationIssue) => (i.schemaPath ?? '').replace(/\/[^/]*$/, '');
  const literalBranches = new Set(same.filter((i) => i.keyword === 'const').map(branch));
  for (const i of same) {
    if (i.keyword === 'type' && literalBranches.has(branch(i))) continue;
    if (i.keyword === 'const') alternatives.push(JSON.stringify(i.params?.allowedValue));
    else if (i.keyword === 'enum' && Array.isArray(i.params?.allowedValues))
      alternatives.push(...(i.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)));
    else if (i.keyword === 'type') {
      alternatives.push(String(i.params?.type));
      onlyValues = false;
    }
  }
  if (!['const', 'enum', 'type'].includes(first.keyword ?? '') || alternatives.length === 0)
    return first.message ?? 'does not match the schema';
  if (alternatives.length === 1)
    return onlyValues ? `must be ${alternatives[0]}` : (first.message ?? `must be ${alternatives[0]}`);
  return onlyValues ? `must be one of ${alternatives.join(', ')}` : `must be ${alternatives.join(' or ')}`;
}

/** Maps anything thrown to a PalisadeError the client may see; unknown errors never leak their text. */
export function toPalisadeError(err: unknown): PalisadeError {
  if (err instanceof PalisadeError) return err;
  const fe = err as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string };
  if (fe.validation) {
    const first = fe.validation[0];
    const where = fe.validationContext ?? 'body';
    const path = first?.instancePath ? first.instancePath.replace(/^\//, '').replace(/\//g, '.') : '';
    const extra =
      first?.params && 'additionalProperty' in first.params ? ` "${String(first.params.additionalProperty)}"` : '';
    const field = path ? `${where}.${path}` : where;
    return new PalisadeError(
      400,
      'invalid_request',
      `Invalid ${field}: ${validationMessage(fe.validation)}${extra}. See /docs for the expected shape.`,
      {
        details: { location: where, field: path || null },
      },
    );
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new PalisadeError(
        415,
        'unsupported_media_type',
        'Send the body as JSON with Content-Type: application/json.',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new PalisadeError(
        400,
        'body_required',
        'The request declares a JSON body but sent none; send a JSON object.',
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new PalisadeError(
        400,
        'invalid_json',
        'The body is not valid JSON. Check quotes and commas, and send Content-Type: application/json.',
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new PalisadeError(
        400,
        'invalid_content_length',
        'The Content-Length header does not match the body that was sent; let your HTTP client set it.',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PalisadeError(
        413,
        'body_too_large',
        'The request body is larger than this endpoint accepts; send less data per request.',
      );
    case 'FST_ERR_CTP_INVALID_TYPE':
    case 'FST_ERR_CTP_EMPTY_TYPE':
      return new PalisadeError(
        415,
        'unsupported_media_type',
        'The Content-Type header is missing or malformed; send the body as JSON with Content-Type: application/json.',
      );
    case 'FST_ERR_BAD_URL':
      return new PalisadeError(
        400,
        'invalid_url',
        'The URL is not valid: a percent-encoded sequence in it is not UTF-8. Encode the path with encodeURIComponent (or your HTTP library) and retry.',
      );
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new PalisadeError(
        414,
        'uri_too_long',
        `A part of the URL path is longer than ${MAX_PARAM_LENGTH} characters, longer than any id Palisade issues. Check the URL.`,
      );
  }
  // A full disk, a read-only database, a database restarting: 503 naming the cause (src/db/faults.ts).
  const fault = databaseFaultOf(err);
  if (fault) return faultError(fault);
  if (err instanceof SyntaxError && typeof fe.statusCode === 'number' && fe.statusCode === 400) {
    return new PalisadeError(
      400,
      'invalid_json',
      'The body is not valid JSON. Check quotes and commas, and send Content-Type: application/json.',
    );
  }
  // A plugin's own 4xx (a multipart limit, a malformed part): too large stays 413, anything else is 400.
  if (typeof fe.statusCode === 'number' && fe.statusCode === 413)
    return new PalisadeError(
      413,
      'body_too_large',
      'The request body is larger than this endpoint accepts; send less data per request.',
    );
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new PalisadeError(
      400,
      'bad_request',
      'The request could not be read. Check the method, headers and body against /docs.',
    );
  }
  return new PalisadeError(
    500,
    'internal_error',
    'Something went wrong on our side. Try again; if it persists, give your administrator this requestId.',
  );
}

/** Longest path parameter routed (Fastify's maxParamLength); ids Palisade issues are far shorter. */
export const MAX_PARAM_LENGTH = 500;

/** A route as the app registered it (`/api/v1/orgs/:orgId`), for telling 404 from 405. */
export interface RoutePattern {
  method: string;
  url: string;
}

const patternCache = new WeakMap<RoutePattern, RegExp>();
function patternOf(route: RoutePattern): RegExp {
  let re = patternCache.get(route);
  if (!re) {
    const body = route.url
      .split('/')
      .map((part) =>
        part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    re = new RegExp(`^${body}/?$`);
    patternCache.set(route, re);
  }
  return re;
}

/** The methods some route serves at this concrete path (empty: no route has this path at all). */
export function allowedMethods(routes: readonly RoutePattern[], path: string): string[] {
  const methods = new Set<string>();
  for (const r of routes) if (patternOf(r).test(path)) methods.add(r.method);
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/** 405 for a path that exists with other methods, else undefined (a genuine 404). */
export function methodNotAllowed(
  routes: readonly RoutePattern[],
  method: string,
  path: string,
): PalisadeError | undefined {
  const allowed = allowedMethods(routes, path);
  if (!allowed.length || allowed.includes(method)) return undefined;
  return new PalisadeError(
    405,
    'method_not_allowed',
    `${method} is not supported on ${path.slice(0, 200)}; this endpoint accepts ${allowed.join(', ')}. The API is documented at /docs.`,
    {
      details: { allowed },
      headers: { allow: allowed.join(', ') },
    },
  );
}

/**
 * Errors Fastify raises before a route runs (a URL that is not UTF-8, a path parameter longer than
 * MAX_PARAM_LENGTH): rendered through the same handler as every other error, with a request id.
 * Protocol surfaces render them in their own shape (`onProtocolError` for `/scim/v2/…`).
 */
export function frameworkErrorHandler(
  render: (request: FastifyRequest, reply: FastifyReply, err: PalisadeError) => unknown,
) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const pe = toPalisadeError(error);
    request.log.info({ code: pe.code, status: pe.status }, 'request refused before routing');
    reply.header('x-request-id', request.id);
    return render(request, reply, pe);
  };
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (headers too large: 431; a request
 * line or header that is not HTTP: 400; a client too slow to send its headers: 408). No route or
 * request object exists yet, so the answer is written to the socket here, in the documented shape,
 * with a request id the server also logs.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let pe: PalisadeError;
    if (err.code === 'HPE_HEADER_OVERFLOW')
      pe = new PalisadeError(
        431,
        'headers_too_large',
        'The request headers (or the URL) are larger than the server accepts (16 KiB in all). Send fewer or smaller headers and cookies, and a shorter URL.',
      );
    else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
      pe = new PalisadeError(
        408,
        'request_timeout',
        'The request took too long to arrive. Retry; if it persists, check the network between you and Palisade.',
      );
    else if (err.code === 'HPE_URI_TOO_LONG')
      pe = new PalisadeError(
        414,
        'uri_too_long',
        'The URL is longer than the server accepts. Send the parameters in a body where the endpoint allows it.',
      );
    else
      pe = new PalisadeError(
        400,
        'bad_request',
        'The request is not valid HTTP/1.1 (request line, headers or framing). Check the client that sent it.',
      );
    const requestId = newId('req');
    this.log.info(
      { requestId, code: pe.code, status: pe.status, parserError: err.code },
      'malformed HTTP request refused',
    );
    if (socket.writable) {
      const body = JSON.stringify(errorBody(pe, requestId));
      socket.write(
        `HTTP/1.1 ${pe.status} ${STATUS_CODES[pe.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(err);
  }
}

/**
 * A surface that answers in its own protocol's shape (the model gateway): where its paths are, and
 * how its errors look. Routes inside it handle their own errors; this covers unknown paths there.
 */
export interface ProtocolErrorShape {
  matches(url: string): boolean;
  body(url: string, err: PalisadeError, requestId: string): unknown;
}

/** What every surface's error has, whatever its wire shape (a PalisadeError, a SCIM error). */
export interface RenderableError {
  status: number;
  code: string;
  headers?: Record<string, string> | undefined;
}

/**
 * The one error handler every surface installs (the API here, SCIM in its plugin): anything thrown
 * is mapped (Fastify's and the database's errors through toPalisadeError), logged once (an error
 * when it is ours, a refusal otherwise), its headers set, then rendered in the surface's shape.
 */
export function errorHandler<E extends RenderableError>(
  label: string,
  map: (err: unknown) => E,
  render: (request: FastifyRequest, reply: FastifyReply, e: E) => unknown,
) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const e = map(err);
    if (e.status >= 500) request.log.error({ err }, `unhandled ${label}error`);
    else request.log.info({ code: e.code, status: e.status }, `${label}request refused`);
    if (e.headers) reply.headers(e.headers);
    return render(request, reply, e);
  };
}

export function installErrorHandlers(app: FastifyInstance, shapes: ProtocolErrorShape[] = []): void {
  app.setErrorHandler(
    errorHandler('', toPalisadeError, (request, reply, pe) => reply.status(pe.status).send(errorBody(pe, request.id))),
  );
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const refused = methodNotAllowed(request.server.routeTable, request.method, path);
    const err =
      refused ??
      new PalisadeError(
        404,
        'route_not_found',
        `There is no ${request.method} ${path.slice(0, 200)} endpoint. The API is documented at /docs.`,
      );
    const shape = shapes.find((s) => s.matches(path));
    if (refused) reply.headers(refused.headers ?? {});
    return reply.status(err.status).send(shape ? shape.body(path, err, request.id) : errorBody(err, request.id));
  });
}
