import type { CodeWithStatus, ErrorCode, StatusOf } from './error-catalog.js';

export type { ErrorCode } from './error-catalog.js';

/** How a domain's `error-codes.ts` declares a code. */
export interface ErrorCodeSpec {
  /** The one HTTP status the code is answered with, everywhere. */
  status: number;
  /** What it means and what to do, as a caller reads it (docs/reference/errors.md shows it). */
  message: string;
}
export type ErrorCodeCatalog = Record<string, ErrorCodeSpec>;

/**
 * One error class for the whole of Palisade. Every refusal carries a stable snake_case `code`
 * declared in a domain's `error-codes.ts`, the one HTTP status that code has (a mismatch is a
 * compile error), a message that tells the reader what to do next, and optional details that are
 * safe to show to the caller (never another organization's data).
 */
export class PalisadeError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: StatusOf<C>,
    code: C,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PalisadeError';
    this.status = status as number;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export const badRequest = (code: CodeWithStatus<400>, message: string, details?: Record<string, unknown>) =>
  new PalisadeError(400, code, message, details ? { details } : {});

export const unauthenticated = (code: CodeWithStatus<401>, message: string) => new PalisadeError(401, code, message);

/** Used for "does not exist" and "exists but belongs to someone else" alike, so ids never leak. */
export const notFound = (what: string) =>
  new PalisadeError(404, 'not_found', `No ${what} with that id exists, or you do not have access to it. Check the id.`);

export const conflict = (code: CodeWithStatus<409>, message: string, details?: Record<string, unknown>) =>
  new PalisadeError(409, code, message, details ? { details } : {});

/** code → status of one domain's catalog (for tables keyed by code). */
export function statusesOf<T extends ErrorCodeCatalog>(catalog: T): { [K in keyof T]: T[K]['status'] } {
  return Object.fromEntries(Object.entries(catalog).map(([code, spec]) => [code, spec.status])) as {
    [K in keyof T]: T[K]['status'];
  };
}
