/**
 * One error class for the whole of Palisade. Every refusal carries a stable snake_case `code`,
 * the HTTP status it maps to, a message that tells the reader what to do next, and optional
 * details that are safe to show to the caller (never another organization's data).
 */
export class PalisadeError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PalisadeError';
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new PalisadeError(400, code, message, details ? { details } : {});

export const unauthenticated = (code: string, message: string) => new PalisadeError(401, code, message);

/** Used for "does not exist" and "exists but belongs to someone else" alike, so ids never leak. */
export const notFound = (what: string) =>
  new PalisadeError(404, 'not_found', `No ${what} with that id exists, or you do not have access to it. Check the id.`);

export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new PalisadeError(409, code, message, details ? { details } : {});
