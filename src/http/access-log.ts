import { LogController } from 'fastify';

/**
 * The access log: one line per request at info ("request completed", or "request errored" at error),
 * carrying what Fastify's "incoming request" line carried besides its own: the request (method,
 * path without query, host, address: the `req` serializer in app.ts), the status, the duration and
 * the request id. Fastify writes two lines per request; serializing and redacting the second was
 * a tenth of the CPU of a loaded process (docs/performance.md). The arrival alone is logged at debug.
 */
export class AccessLogController extends LogController {
  override incomingRequest(request: Parameters<LogController['incomingRequest']>[0]): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(
    error: Parameters<LogController['requestCompleted']>[0],
    request: Parameters<LogController['requestCompleted']>[1],
    reply: Parameters<LogController['requestCompleted']>[2],
  ): void {
    if (this.isLogDisabled(request)) return;
    if (error)
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
