import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { PalisadeError } from '../errors.js';
import { toPalisadeError } from '../http/errors.js';
import { OrgParams, errorResponses } from '../http/schemas.js';
import { anthropicError, openaiError } from './errors.js';
import { CreateGatewayKeyInput, GatewayKeyView, createGatewayKey, listGatewayKeys, revokeGatewayKey } from './keys.js';
import { countTokens, getModel, listModels, renderModel, renderModelList } from './models.js';
import {
  type GatewayCall,
  type Protocol,
  type Sink,
  identifyGatewayCaller,
  invalidGatewayKeyMessage,
  proxyModelRequest,
} from './proxy.js';
import { UpstreamInput, UpstreamView, getUpstreamView, setUpstream } from './upstream.js';
import { UsageRow, usageReport } from './usage.js';
import {
  GatewayChatCompletion,
  GatewayMessage,
  GatewayModel,
  GatewayModelList,
  GatewayTokenCount,
  completionResponse,
} from './schemas.js';

const GATEWAY_BODY_LIMIT = 32 * 1024 * 1024;
/** How much of a refused upload is read and discarded so the client sees the 413 instead of a reset. */
const DRAIN_LIMIT = 2 * GATEWAY_BODY_LIMIT;

/**
 * Reads and discards the rest of a refused request body, so the client (still uploading) reads
 * the 413 rather than a connection reset — an SDK retries a reset, not a 413. Past DRAIN_LIMIT
 * the connection is closed: a client that sends without end is not read forever.
 */
function drainRefusedBody(raw: IncomingMessage): void {
  if (raw.complete) return;
  let seen = 0;
  raw.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_LIMIT) raw.socket?.destroy();
  });
  raw.on('error', () => undefined);
  raw.resume();
}

const tooLarge = () =>
  new PalisadeError(
    413,
    'request_too_large',
    `Requests to the model gateway are limited to ${GATEWAY_BODY_LIMIT} bytes; this one is larger. Send smaller images or documents, or fewer of them.`,
    { details: { limitBytes: GATEWAY_BODY_LIMIT } },
  );

declare module 'fastify' {
  interface FastifyRequest {
    /** The gateway caller (key or member, organization, policies), set by the model API's auth hook. */
    gatewayCall?: GatewayCall;
  }
}

/** The caller the model API's auth hook identified; a route without it was registered outside that plugin. */
function gatewayCallOf(request: FastifyRequest): GatewayCall {
  if (!request.gatewayCall) throw new Error('gateway route reached without its auth hook');
  return request.gatewayCall;
}

function sinkFor(request: FastifyRequest, reply: FastifyReply): Sink {
  let started = false;
  const head = (headers: Record<string, string>) => ({
    ...headers,
    'request-id': request.id,
    'x-request-id': request.id,
    'x-content-type-options': 'nosniff',
  });
  return {
    start(status, headers) {
      started = true;
      reply.hijack();
      reply.raw.writeHead(status, head(headers));
      reply.raw.flushHeaders();
    },
    respond(status, headers, body) {
      reply.hijack();
      reply.raw.writeHead(status, { ...head(headers), 'content-length': String(body.byteLength) });
      reply.raw.end(body);
    },
    write(chunk) {
      if (started) reply.raw.write(chunk);
    },
    end() {
      if (started) reply.raw.end();
    },
    onAbort(cb) {
      // The response closing before it finished means the client went away: cancel upstream.
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) cb();
      });
    },
  };
}

/** Named response components of the model API, registered at the root by app.ts. */
export const gatewaySchemas = [
  GatewayMessage,
  GatewayChatCompletion,
  GatewayTokenCount,
  GatewayModel,
  GatewayModelList,
];

/** The model gateway (Anthropic- and OpenAI-compatible) and its key, provider and usage administration. */
export async function gatewayRoutes(root: FastifyInstance): Promise<void> {
  // Two surfaces, two prefixes: the model API under /v1 (gateway keys, its own error shape and
  // hooks) and its administration under /api/v1 with the rest of the API.
  await root.register(protocolRoutes, { prefix: '/v1' });
  await root.register(adminRoutes, { prefix: '/api/v1' });
}

async function adminRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['Gateway'];
  const KeyParams = Type.Object({ orgId: Type.String({ maxLength: 64 }), keyId: Type.String({ maxLength: 64 }) });

  app.post(
    '/orgs/:orgId/gateway/keys',
    {
      schema: {
        tags,
        operationId: 'createGatewayKey',
        summary: 'Create your gateway key (shown once)',
        params: OrgParams,
        body: CreateGatewayKeyInput,
        response: { 201: Type.Object({ key: Type.String(), gatewayKey: GatewayKeyView }), ...errorResponses },
      },
    },
    async (req, reply) => reply.status(201).send(await createGatewayKey(req.ctx, req.params.orgId, req.body)),
  );
  app.get(
    '/orgs/:orgId/gateway/keys',
    {
      schema: {
        tags,
        operationId: 'listGatewayKeys',
        summary: "Gateway keys: admins see everyone's, members their own",
        params: OrgParams,
        response: { 200: Type.Object({ data: Type.Array(GatewayKeyView) }), ...errorResponses },
      },
    },
    async (req) => listGatewayKeys(req.ctx, req.params.orgId),
  );
  app.delete(
    '/orgs/:orgId/gateway/keys/:keyId',
    {
      schema: {
        tags,
        operationId: 'revokeGatewayKey',
        summary: 'Revoke a gateway key (your own, or any as an admin)',
        params: KeyParams,
        response: { 200: GatewayKeyView, ...errorResponses },
      },
    },
    async (req) => revokeGatewayKey(req.ctx, req.params.orgId, req.params.keyId),
  );
  app.get(
    '/orgs/:orgId/gateway/upstream',
    {
      schema: {
        tags,
        operationId: 'getGatewayUpstream',
        summary: 'The model provider requests go to',
        params: OrgParams,
        response: { 200: Type.Object({ upstream: Type.Union([UpstreamView, Type.Null()]) }), ...errorResponses },
      },
    },
    async (req) => ({
      upstream: await getUpstreamView(req.ctx, req.params.orgId),
    }),
  );
  app.put(
    '/orgs/:orgId/gateway/upstream',
    {
      schema: {
        tags,
        operationId: 'setGatewayUpstream',
        summary: 'Set the model provider (credential stored encrypted)',
        params: OrgParams,
        body: UpstreamInput,
        response: { 200: UpstreamView, ...errorResponses },
      },
    },
    async (req) => setUpstream(req.ctx, req.params.orgId, req.body as UpstreamInput),
  );
  app.get(
    '/orgs/:orgId/gateway/usage',
    {
      schema: {
        tags,
        operationId: 'getGatewayUsage',
        summary: 'Token usage per user and model',
        params: OrgParams,
        querystring: Type.Object({
          from: Type.Optional(Type.String({ maxLength: 30 })),
          to: Type.Optional(Type.String({ maxLength: 30 })),
        }),
        response: { 200: Type.Object({ data: Type.Array(UsageRow) }), ...errorResponses },
      },
    },
    async (req) => usageReport(req.ctx, req.params.orgId, req.query.from, req.query.to),
  );
}

/** The model API surface (/v1/…): errors in each protocol's own shape (encapsulated handler). */
async function protocolRoutes(app: FastifyInstance): Promise<void> {
  // /v1/chat/… is OpenAI's; /v1/models answers in the shape of the SDK asking (Anthropic's sends anthropic-version).
  const protocolOf = (request: FastifyRequest): Protocol =>
    request.url.startsWith('/v1/chat/') ||
    (request.url.startsWith('/v1/models') && request.headers['anthropic-version'] === undefined)
      ? 'openai'
      : 'anthropic';
  const render = (request: FastifyRequest, pe: PalisadeError) =>
    protocolOf(request) === 'openai' ? openaiError(pe) : anthropicError(pe, request.id);
  app.setErrorHandler((err: unknown, request, reply) => {
    let pe = toPalisadeError(err);
    // The generic API-token refusal (a bearer that is no valid token), on the gateway, is about the gateway key.
    if (pe.code === 'invalid_token')
      pe = invalidGatewayKey(/^Bearer\s+(\S+)/i.exec(request.headers.authorization ?? '')?.[1] ?? '');
    if (pe.status === 413) {
      pe = tooLarge();
      // Fastify asks to close the connection after a body error; draining instead lets the client read this answer.
      reply.removeHeader('connection');
      drainRefusedBody(request.raw);
    }
    if (pe.status >= 500) request.log.error({ err }, 'gateway error');
    if (reply.raw.headersSent) {
      reply.raw.end();
      return;
    }
    reply.header('request-id', request.id);
    return reply.status(pe.status).send(render(request, pe));
  });
  // Refused before a byte of the body is read: a 34 MiB upload is answered at once, in the provider's shape.
  app.addHook('onRequest', async (request, reply) => {
    const length = Number(request.headers['content-length']);
    if (!(length > GATEWAY_BODY_LIMIT)) return;
    drainRefusedBody(request.raw);
    reply.header('request-id', request.id);
    return reply.status(413).send(render(request, tooLarge()));
  });

  const callerOf = (request: FastifyRequest) => {
    const h = request.headers;
    const bearer = /^Bearer\s+(\S+)$/i.exec(h.authorization ?? '')?.[1];
    return identifyGatewayCaller(request.ctx, {
      apiKey: typeof h['x-api-key'] === 'string' ? h['x-api-key'] : undefined,
      bearer,
      org: typeof h['x-palisade-org'] === 'string' ? h['x-palisade-org'] : undefined,
    });
  };
  // The model API's own credential (gateway key, or a member's token with X-Palisade-Org), checked
  // once per request by this plugin's hook — after the body is parsed and validated, as before.
  app.addHook('preHandler', async (request) => {
    request.gatewayCall = await callerOf(request);
  });
  const passthroughOf = (request: FastifyRequest) => ({
    'anthropic-version': request.headers['anthropic-version'] as string | undefined,
    'anthropic-beta': request.headers['anthropic-beta'] as string | undefined,
  });
  const objectBody = (request: FastifyRequest): Record<string, unknown> => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw toPalisadeError({ statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
    return body as Record<string, unknown>;
  };

  const handle = (protocol: Protocol) => async (request: FastifyRequest, reply: FastifyReply) => {
    const call = gatewayCallOf(request);
    await proxyModelRequest(
      call,
      { protocol, body: objectBody(request), passthroughHeaders: passthroughOf(request) },
      sinkFor(request, reply),
    );
    return reply;
  };
  const schema = { tags: ['Gateway'], body: Type.Object({}, { additionalProperties: true }) };
  app.post(
    '/messages',
    {
      bodyLimit: GATEWAY_BODY_LIMIT,
      schema: {
        ...schema,
        operationId: 'gatewayMessages',
        summary: 'Anthropic Messages API (JSON and SSE streaming) through the organization policies',
        response: completionResponse(GatewayMessage),
      },
    },
    handle('anthropic'),
  );
  app.post(
    '/chat/completions',
    {
      bodyLimit: GATEWAY_BODY_LIMIT,
      schema: {
        ...schema,
        operationId: 'gatewayChatCompletions',
        summary: 'OpenAI chat completions through the organization policies',
        response: completionResponse(GatewayChatCompletion),
      },
    },
    handle('openai'),
  );
  app.post(
    '/messages/count_tokens',
    {
      bodyLimit: GATEWAY_BODY_LIMIT,
      schema: {
        ...schema,
        operationId: 'gatewayCountTokens',
        summary: 'Anthropic token counting for a prompt, through the organization policies',
        response: { 200: Type.Ref('GatewayTokenCount') },
      },
    },
    async (request, reply) => {
      const call = gatewayCallOf(request);
      await countTokens(call, objectBody(request), passthroughOf(request), sinkFor(request, reply));
      return reply;
    },
  );
  app.get(
    '/models',
    {
      schema: {
        tags: ['Gateway'],
        operationId: 'gatewayListModels',
        summary: "Models the organization allows, from its provider's list (Anthropic or OpenAI shape)",
        response: { 200: Type.Ref('GatewayModelList') },
      },
    },
    async (request) => renderModelList(await listModels(gatewayCallOf(request)), protocolOf(request)),
  );
  app.get(
    '/models/:modelId',
    {
      schema: {
        tags: ['Gateway'],
        operationId: 'gatewayGetModel',
        summary: 'One allowed model (Anthropic or OpenAI shape)',
        response: { 200: Type.Ref('GatewayModel') },
        params: Type.Object({ modelId: Type.String({ maxLength: 200 }) }),
      },
    },
    async (request) =>
      renderModel(
        await getModel(gatewayCallOf(request), (request.params as { modelId: string }).modelId),
        protocolOf(request),
      ),
  );
}

function invalidGatewayKey(presented: string): PalisadeError {
  return new PalisadeError(401, 'invalid_gateway_key', invalidGatewayKeyMessage(presented));
}
