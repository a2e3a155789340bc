import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toPalisadeError } from '../http/errors.js';
import { OrgParams, errorResponses } from '../http/schemas.js';
import { anthropicError, openaiError } from './errors.js';
import { CreateGatewayKeyInput, GatewayKeyView, createGatewayKey, listGatewayKeys, revokeGatewayKey } from './keys.js';
import { type Protocol, type Sink, identifyGatewayCaller, proxyModelRequest } from './proxy.js';
import { UpstreamInput, UpstreamView, getUpstreamView, setUpstream } from './upstream.js';
import { UsageRow, usageReport } from './usage.js';

const GATEWAY_BODY_LIMIT = 32 * 1024 * 1024;

function sinkFor(request: FastifyRequest, reply: FastifyReply): Sink {
  let started = false;
  return {
    start(status, headers) {
      started = true;
      reply.hijack();
      reply.raw.writeHead(status, { ...headers, 'request-id': request.id, 'x-request-id': request.id, 'x-content-type-options': 'nosniff' });
      reply.raw.flushHeaders();
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

/** The model gateway (Anthropic- and OpenAI-compatible) and its key, provider and usage administration. */
export async function gatewayRoutes(root: FastifyInstance): Promise<void> {
  await root.register(protocolRoutes);
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['Gateway'];
  const KeyParams = Type.Object({ orgId: Type.String({ maxLength: 64 }), keyId: Type.String({ maxLength: 64 }) });

  app.post('/api/v1/orgs/:orgId/gateway/keys', { schema: { tags, summary: 'Create your gateway key (shown once)', params: OrgParams, body: CreateGatewayKeyInput, response: { 201: Type.Object({ key: Type.String(), gatewayKey: GatewayKeyView }), ...errorResponses } } }, async (req, reply) =>
    reply.status(201).send(await createGatewayKey(req.ctx, req.params.orgId, req.body)),
  );
  app.get('/api/v1/orgs/:orgId/gateway/keys', { schema: { tags, summary: "Gateway keys: admins see everyone's, members their own", params: OrgParams, response: { 200: Type.Object({ data: Type.Array(GatewayKeyView) }), ...errorResponses } } }, async (req) =>
    listGatewayKeys(req.ctx, req.params.orgId),
  );
  app.delete('/api/v1/orgs/:orgId/gateway/keys/:keyId', { schema: { tags, summary: 'Revoke a gateway key (your own, or any as an admin)', params: KeyParams, response: { 200: GatewayKeyView, ...errorResponses } } }, async (req) =>
    revokeGatewayKey(req.ctx, req.params.orgId, req.params.keyId),
  );
  app.get('/api/v1/orgs/:orgId/gateway/upstream', { schema: { tags, summary: 'The model provider requests go to', params: OrgParams, response: { 200: Type.Object({ upstream: Type.Union([UpstreamView, Type.Null()]) }), ...errorResponses } } }, async (req) => ({
    upstream: await getUpstreamView(req.ctx, req.params.orgId),
  }));
  app.put('/api/v1/orgs/:orgId/gateway/upstream', { schema: { tags, summary: 'Set the model provider (credential stored encrypted)', params: OrgParams, body: UpstreamInput, response: { 200: UpstreamView, ...errorResponses } } }, async (req) =>
    setUpstream(req.ctx, req.params.orgId, req.body as UpstreamInput),
  );
  app.get(
    '/api/v1/orgs/:orgId/gateway/usage',
    { schema: { tags, summary: 'Token usage per user and model', params: OrgParams, querystring: Type.Object({ from: Type.Optional(Type.String({ maxLength: 30 })), to: Type.Optional(Type.String({ maxLength: 30 })) }), response: { 200: Type.Object({ data: Type.Array(UsageRow) }), ...errorResponses } } },
    async (req) => usageReport(req.ctx, req.params.orgId, req.query.from, req.query.to),
  );
}

/** /v1/messages and /v1/chat/completions: errors in each protocol's own shape (encapsulated handler). */
async function protocolRoutes(app: FastifyInstance): Promise<void> {
  const protocolOf = (request: FastifyRequest): Protocol => (request.url.startsWith('/v1/chat/') ? 'openai' : 'anthropic');
  app.setErrorHandler((err: unknown, request, reply) => {
    const pe = toPalisadeError(err);
    if (pe.status >= 500) request.log.error({ err }, 'gateway error');
    if (reply.raw.headersSent) {
      reply.raw.end();
      return;
    }
    reply.header('request-id', request.id);
    return reply.status(pe.status).send(protocolOf(request) === 'openai' ? openaiError(pe) : anthropicError(pe, request.id));
  });

  const handle = (protocol: Protocol) => async (request: FastifyRequest, reply: FastifyReply) => {
    const h = request.headers;
    const bearer = /^Bearer\s+(\S+)$/i.exec(h.authorization ?? '')?.[1];
    const call = await identifyGatewayCaller(request.ctx, {
      apiKey: typeof h['x-api-key'] === 'string' ? h['x-api-key'] : undefined,
      bearer,
      org: typeof h['x-palisade-org'] === 'string' ? h['x-palisade-org'] : undefined,
    });
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw toPalisadeError({ statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
    await proxyModelRequest(
      call,
      { protocol, body: body as Record<string, unknown>, passthroughHeaders: { 'anthropic-version': h['anthropic-version'] as string | undefined, 'anthropic-beta': h['anthropic-beta'] as string | undefined } },
      sinkFor(request, reply),
    );
    return reply;
  };
  const schema = { tags: ['Gateway'], body: Type.Object({}, { additionalProperties: true }) };
  app.post('/v1/messages', { bodyLimit: GATEWAY_BODY_LIMIT, schema: { ...schema, summary: 'Anthropic Messages API (JSON and SSE streaming) through the organization policies' } }, handle('anthropic'));
  app.post('/v1/chat/completions', { bodyLimit: GATEWAY_BODY_LIMIT, schema: { ...schema, summary: 'OpenAI chat completions through the organization policies' } }, handle('openai'));
}
