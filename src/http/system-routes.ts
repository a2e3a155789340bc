import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '../db/connect.js';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  httpErrors: Counter<'code'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'palisade_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'palisade_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    httpErrors: new Counter({
      name: 'palisade_http_errors_total',
      help: 'Error responses by error code.',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}

export const LivenessView = Type.Object({ status: Type.Literal('ok') }, { $id: 'LivenessView' });

/** Liveness and the metrics endpoint; readiness (which reads jobs and streams) is src/health/routes.ts. */
export async function systemRoutes(
  app: FastifyInstance,
  opts: { database: Database; metrics: Metrics; metricsEnabled: boolean },
): Promise<void> {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['Operations'],
        operationId: 'getLiveness',
        summary: 'Liveness: the process is up',
        security: [],
        response: { 200: Type.Ref('LivenessView') },
      },
    },
    async () => ({
      status: 'ok',
    }),
  );
  if (opts.metricsEnabled) {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
      reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics()),
    );
  }
}
