import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { databaseFaultOf, faultError } from '../db/faults.js';
import { PalisadeError } from '../errors.js';

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: Record<string, unknown> };
}

export function errorBody(err: PalisadeError, requestId: string): ErrorBody {
  return { error: { code: err.code, message: err.message, requestId, ...(err.details ? { details: err.details } : {}) } };
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
    else if (i.keyword === 'enum' && Array.isArray(i.params?.allowedValues)) alternatives.push(...(i.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)));
    else if (i.keyword === 'type') {
      alternatives.push(String(i.params?.type));
      onlyValues = false;
    }
  }
  if (!['const', 'enum', 'type'].includes(first.keyword ?? '') || alternatives.length === 0) return first.message ?? 'does not match the schema';
  if (alternatives.length === 1) return onlyValues ? `must be ${alternatives[0]}` : (first.message ?? `must be ${alternatives[0]}`);
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
    const extra = first?.params && 'additionalProperty' in first.params ? ` "${String(first.params.additionalProperty)}"` : '';
    const field = path ? `${where}.${path}` : where;
    return new PalisadeError(400, 'invalid_request', `Invalid ${field}: ${validationMessage(fe.validation)}${extra}. See /docs for the expected shape.`, {
      details: { location: where, field: path || null },
    });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new PalisadeError(415, 'unsupported_media_type', 'Send the body as JSON with Content-Type: application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new PalisadeError(400, 'body_required', 'The request declares a JSON body but sent none; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new PalisadeError(400, 'invalid_json', 'The body is not valid JSON. Check quotes and commas, and send Content-Type: application/json.');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PalisadeError(413, 'body_too_large', 'The request body is larger than this endpoint accepts; send less data per request.');
  }
  // A full disk, a read-only database, a database restarting: 503 naming the cause (src/db/faults.ts).
  const fault = databaseFaultOf(err);
  if (fault) return faultError(fault);
  if (err instanceof SyntaxError && typeof fe.statusCode === 'number' && fe.statusCode === 400) {
    return new PalisadeError(400, 'invalid_json', 'The body is not valid JSON. Check quotes and commas, and send Content-Type: application/json.');
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new PalisadeError(fe.statusCode, 'bad_request', 'The request could not be read. Check the method, headers and body against /docs.');
  }
  return new PalisadeError(500, 'internal_error', 'Something went wrong on our side. Try again; if it persists, give your administrator this requestId.');
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const pe = toPalisadeError(err);
    if (pe.status >= 500) request.log.error({ err }, 'unhandled error');
    else request.log.info({ code: pe.code, status: pe.status }, 'request refused');
    if (pe.headers) reply.headers(pe.headers);
    return reply.status(pe.status).send(errorBody(pe, request.id));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(
      errorBody(new PalisadeError(404, 'route_not_found', `There is no ${request.method} ${request.url.split('?')[0]} endpoint. The API is documented at /docs.`), request.id),
    ),
  );
}
