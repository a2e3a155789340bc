import { serializerFactory } from './http/serializers.js';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import './access-replay/reader.js'; // registers the lockout guard's access reader (src/lockout/guard.ts)
import { AuditActionList, AuditActionView, auditCatalogRoutes } from './audit/catalog-routes.js';
import { auditKeyRoutes, auditRoutes, auditSchemas } from './audit/routes.js';
import { authRoutes, authSchemas } from './auth/routes.js';
import { type Clock, systemClock } from './clock.js';
import type { PalisadeConfig } from './config.js';
import { closeKeyProvider, initKeyProvider } from './crypto/provider.js';
import { acquireRedis } from './http/rate-limit-redis.js';
import { VERSION } from './version.js';
import type { Database } from './db/connect.js';
import { domainRoutes } from './domains/routes.js';
import { AccessLogController } from './http/access-log.js';
import { LOG_REDACT_PATHS, scrubSecrets } from './http/log-redaction.js';
import { tlsOptions } from './http/tls.js';
import {
  MAX_PARAM_LENGTH,
  clientErrorHandler,
  errorBody,
  frameworkErrorHandler,
  installErrorHandlers,
} from './http/errors.js';
import { installInputPolicy } from './http/input-policy.js';
import { installJsonParser } from './http/json-body.js';
import { isScimPath, renderScimFrameworkError } from './scim/protocol-routes.js';
import { installStorageFaultHooks } from './http/storage-faults.js';
import { healthRoutes } from './health/routes.js';
import { validatorCompiler } from './http/validation.js';
import { identifyCaller } from './auth/identify.js';
import { ErrorSchema } from './http/schemas.js';
import { LivenessView, type Metrics, createMetrics, systemRoutes } from './http/system-routes.js';
import { newId } from './ids.js';
import { roleMappingRoutes, roleMappingSchemas } from './role-mapping/routes.js';
import { orgRoutes, orgSchemas } from './membership/routes.js';
import { scimProtocolRoutes } from './scim/protocol-routes.js';
import { scimRoutes, scimSchemas } from './scim/routes.js';
import { streamRoutes, streamSchemas } from './streams/routes.js';
import { pageRoutes } from './web/pages.js';
import { consoleRoutes } from './web/console.js';
import { ssoRoutes, ssoSchemas } from './sso/routes.js';
import { testIdpRoutes, testIdpSchemas } from './test-idp/routes.js';
import { workspaceRoutes } from './workspace/routes.js';
import { gatewayRoutes, gatewaySchemas } from './gateway/routes.js';
import { gatewayErrorBody, isGatewayPath } from './gateway/errors.js';
import { flushGatewayWrites } from './gateway/write-behind.js';
import { startAuditSealer, stopAuditSealer } from './audit/seal.js';
import { emailRoutes } from './email/routes.js';
import { complianceAdminRoutes } from './compliance/admin-routes.js';
import { complianceRoutes } from './compliance/routes.js';
import { githubRoutes } from './github/routes.js';
import { githubWebhookRoutes } from './github/webhooks.js';
import { registerNotificationMetrics } from './notifications/metrics.js';
import { notificationRoutes } from './notifications/routes.js';

export interface AppOptions {
  database: Database;
  config: PalisadeConfig;
  clock?: Clock;
  metrics?: Metrics;
  /** Where log lines go (standard output by default); tests capture them to prove no secret is logged. */
  logStream?: NodeJS.WritableStream;
}

export { VERSION };

export interface RouteEntry {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route the app serves; the tenant-isolation test walks it so no new route escapes it. */
    routeTable: RouteEntry[];
    /**
     * Set when a graceful shutdown begins (src/serve.ts): /readyz answers 503 so load balancers stop
     * sending new requests, and every response closes its connection so keep-alive clients move to
     * another instance, while requests already here are served to the end.
     */
    lifecycle: { draining: boolean };
  }
}

const sharedSchemas = [
  ErrorSchema,
  LivenessView,
  AuditActionView,
  AuditActionList,
  ...authSchemas,
  ...auditSchemas,
  ...roleMappingSchemas,
  ...scimSchemas,
  ...ssoSchemas,
  ...testIdpSchemas,
  ...streamSchemas,
  ...gatewaySchemas,
  ...orgSchemas,
];

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { database, config } = opts;
  const clock = opts.clock ?? systemClock;
  const metrics = opts.metrics ?? createMetrics();
  const tls = tlsOptions(config);
  const app = Fastify({
    ...(tls ? { https: tls } : {}),
    logger: {
      level: config.logLevel,
      // Credentials never reach a log line (src/http/log-redaction.ts).
      redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
      hooks: { streamWrite: scrubSecrets },
      // Query strings can carry one-time secrets (an OIDC authorization code) or emails: log the path only.
      serializers: {
        req: (req: { method: string; url: string; hostname?: string; ip?: string }) => ({
          method: req.method,
          url: req.url.split('?')[0],
          host: req.hostname,
          remoteAddress: req.ip,
        }),
      },
      ...(opts.logStream ? { stream: opts.logStream } : {}),
    },
    // One access line per request, written with the response, instead of Fastify's two.
    logController: new AccessLogController(),
    genReqId: () => newId('req'),
    requestIdHeader: false,
    // Response serializers built from the shared schemas each route reaches, once per distinct schema.
    schemaController: { compilersFactory: { buildSerializer: serializerFactory } },
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Errors raised before routing and by Node's HTTP parser answer in the documented shape too.
    frameworkErrors: frameworkErrorHandler((request, reply, err) =>
      isScimPath(request.url)
        ? renderScimFrameworkError(request, reply, err)
        : reply
            .status(err.status)
            .send(
              isGatewayPath(request.url) ? gatewayErrorBody(request.url, err, request.id) : errorBody(err, request.id),
            ),
    ),
    clientErrorHandler,
    // While draining, a request on a connection that is already open is served (not refused with
    // 503): it was sent before the client could know, and refusing it would fail a rolling restart.
    return503OnClosing: false,
  });

  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.decorate('lifecycle', { draining: false });
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routeTable.push({ method, url: route.url });
  });

  // Audit events appended by a request are sealed into their chains within a second, and before
  // any reader of the chain reads them; with PALISADE_AUDIT_SEALING=batched, before its response is
  // sent (src/audit/seal.ts).
  const sealer = startAuditSealer(database.db, config.auditSealing, (err) =>
    app.log.error({ err }, 'audit events could not be sealed yet; they stay pending and are retried'),
  );
  if (sealer.mode === 'batched') {
    app.addHook('onSend', async (request) => {
      // A failed seal does not fail a request whose change (and event) committed: the event is
      // durable in audit_pending and the sweep seals it.
      await sealer.settleRequest(request.id).catch((err: unknown) => app.log.error({ err }, 'audit seal failed'));
    });
    app.addHook('onResponse', async (request) => sealer.forgetRequest(request.id));
  }
  app.addHook('onClose', async () => {
    await stopAuditSealer(database.db).catch((err: unknown) =>
      app.log.error({ err }, 'pending audit events could not be sealed at shutdown; the next start seals them'),
    );
  });

  const hsts = tls !== undefined || config.publicUrl.startsWith('https://');
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (app.lifecycle.draining) reply.header('connection', 'close');
    // Security headers on every response; pages set their own content security policy.
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    if (hsts) reply.header('strict-transport-security', 'max-age=63072000');
    if (request.url.startsWith('/api/')) {
      reply.header('cache-control', 'no-store');
      if (!reply.hasHeader('content-security-policy'))
        reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // The key-encryption key is loaded now, so a missing or malformed master key stops start-up.
  initKeyProvider(config, (msg) => app.log.warn(msg));
  app.addHook('onClose', async () => closeKeyProvider(config));
  // Limits in Redis (PALISADE_REDIS_URL): one client per process, held while this app runs.
  if (config.redisUrl) {
    const release = acquireRedis(config.redisUrl, config.redisKeyPrefix);
    app.addHook('onClose', release);
  }
  // Batched gateway bookkeeping (usage counters, last-used times) is written before the app stops.
  app.addHook('onClose', async () => {
    await flushGatewayWrites(database.db).catch((err: unknown) =>
      app.log.error({ err }, 'gateway usage counters could not be written at shutdown'),
    );
  });
  app.setValidatorCompiler(validatorCompiler);
  installErrorHandlers(app, [{ matches: isGatewayPath, body: gatewayErrorBody }]);
  installJsonParser(app);
  // Named components (#/components/schemas/…) are added here, at the root, and never inside a route
  // plugin: a plugin that adds a schema gets Fastify's default validator instead of the one set
  // above (which does not coerce JSON bodies), so its requests would be validated differently.
  for (const schema of sharedSchemas) app.addSchema(schema);
  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    // Shared schemas become named components (#/components/schemas/Error), not def-0, def-1, …
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Palisade API',
        version: VERSION,
        description:
          'Security control plane for an AI-assistant workspace. Errors share one shape: `{ "error": { "code", "message", "requestId" } }`.',
      },
      components: {
        securitySchemes: {
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'palisade_session',
            description: 'Browser session; state changes also need the X-CSRF-Token header.',
          },
          bearer: { type: 'http', scheme: 'bearer', description: 'Personal API token (pls_pat_…).' },
          complianceKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'Compliance key (pls_cmp_…), for /v1/compliance/ only; also accepted as x-api-key.',
          },
          scimToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'SCIM directory token (pls_scim_…), for /scim/v2/{directoryId}/ only.',
          },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.addHook('onRequest', identifyCaller({ db: database.db, clock, config }));
  // Right after the caller is known (which reads only headers) and before any route or plugin hook
  // looks anything up: text no engine can store, and shapes no handler expects, never get further.
  installInputPolicy(app);

  await app.register(systemRoutes, { database, metrics, metricsEnabled: config.metricsEnabled });
  await app.register(healthRoutes, {
    database,
    clock,
    config,
    registry: config.metricsEnabled ? metrics.registry : undefined,
  });
  if (config.metricsEnabled) registerNotificationMetrics(metrics.registry, database.db);
  installStorageFaultHooks(app, database.db);
  await app.register(pageRoutes);
  await app.register(consoleRoutes);
  // Each domain's routes, one line each, under the prefix of the surface they belong to. Domains
  // with more than one surface (the gateway: /v1 and /api/v1; SSO: /api/v1 and /sso; the test IdP:
  // /api/v1 and /test-idp) and those whose routes share a longer prefix (SCIM protocol, compliance,
  // GitHub, notifications) place their own, each under a prefix too.
  const API = '/api/v1';
  const domainPlugins: [FastifyPluginAsync, string][] = [
    [authRoutes, API],
    [orgRoutes, API],
    [roleMappingRoutes, API],
    [auditRoutes, API],
    [auditKeyRoutes, ''],
    [auditCatalogRoutes, API],
    [domainRoutes, API],
    [scimRoutes, API],
    [scimProtocolRoutes, ''],
    [ssoRoutes, ''],
    [testIdpRoutes, ''],
    [workspaceRoutes, API],
    [gatewayRoutes, ''],
    [streamRoutes, API],
    [emailRoutes, API],
    [complianceAdminRoutes, ''],
    [complianceRoutes, ''],
    [githubRoutes, ''],
    [githubWebhookRoutes, ''],
    [notificationRoutes, ''],
  ];
  for (const [routes, prefix] of domainPlugins) await app.register(routes, prefix ? { prefix } : {});
  return app;
}
