import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PalisadeError } from '../errors.js';

/**
 * Reads a JSON request body. An empty body (or only whitespace) is no body, whatever the
 * Content-Type says: a DELETE sent by a client library with `Content-Type: application/json` and
 * nothing after it is a DELETE without a body, not a syntax error. The route's schema then decides
 * whether a body was required.
 */
export function parseJsonText(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const at = err instanceof SyntaxError ? /position (\d+)/.exec(err.message)?.[1] : undefined;
    throw new PalisadeError(
      400,
      'invalid_json',
      `The body is not valid JSON${at !== undefined ? ` (the error is at character ${Number(at) + 1})` : ''}. Check quotes, commas and brackets, and send Content-Type: application/json.`,
      { details: { location: 'body', ...(at !== undefined ? { position: Number(at) } : {}) } },
    );
  }
}

/** Replaces Fastify's JSON parser on the root instance (and so in every plugin that does not add its own). */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (_request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
      try {
        done(null, parseJsonText(typeof body === 'string' ? body : body.toString('utf8')));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
}
