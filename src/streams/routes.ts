import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { OrgParams, errorResponses, ref } from '../http/schemas.js';
import {
  AuditStreamCreatedView,
  AuditStreamList,
  AuditStreamTestResult,
  AuditStreamUpdatedView,
  AuditStreamView,
  CreateStreamBody,
  UpdateStreamBody,
  createStream,
  deleteStream,
  getStream,
  listStreams,
  retryStream,
  sendTestEvent,
  updateStream,
} from './streams.js';

const tags = ['Audit streams (SIEM)'];
const StreamParams = Type.Object({ orgId: Type.String({ maxLength: 64 }), streamId: Type.String({ maxLength: 64 }) });

/** Named response components of these routes, registered at the root by app.ts (see sharedSchemas there). */
export const streamSchemas = [
  AuditStreamView,
  AuditStreamList,
  AuditStreamCreatedView,
  AuditStreamUpdatedView,
  AuditStreamTestResult,
];

export async function streamRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const base = '/orgs/:orgId/audit-streams';
  app.get(
    base,
    {
      schema: {
        tags,
        operationId: 'listAuditStreams',
        summary: 'SIEM destinations with their delivery health',
        params: OrgParams,
        response: { 200: ref(AuditStreamList), ...errorResponses },
      },
    },
    async (request) => listStreams(request.ctx, request.params.orgId),
  );
  app.post(
    base,
    {
      schema: {
        tags,
        operationId: 'createAuditStream',
        summary: 'Add a SIEM destination (the webhook secret is shown once)',
        params: OrgParams,
        body: CreateStreamBody,
        response: { 201: ref(AuditStreamCreatedView), ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createStream(request.ctx, request.params.orgId, request.body)),
  );
  app.get(
    `${base}/:streamId`,
    {
      schema: {
        tags,
        operationId: 'getAuditStream',
        summary: 'One destination and its health (last success, lag, last error)',
        params: StreamParams,
        response: { 200: ref(AuditStreamView), ...errorResponses },
      },
    },
    async (request) => getStream(request.ctx, request.params.orgId, request.params.streamId),
  );
  app.patch(
    `${base}/:streamId`,
    {
      schema: {
        tags,
        operationId: 'updateAuditStream',
        summary: 'Rename, pause or resume a destination',
        params: StreamParams,
        body: UpdateStreamBody,
        response: { 200: ref(AuditStreamUpdatedView), ...errorResponses },
      },
    },
    async (request) => updateStream(request.ctx, request.params.orgId, request.params.streamId, request.body),
  );
  app.delete(
    `${base}/:streamId`,
    {
      schema: {
        tags,
        operationId: 'deleteAuditStream',
        summary: 'Remove a destination',
        params: StreamParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteStream(request.ctx, request.params.orgId, request.params.streamId);
      return reply.status(204).send(null);
    },
  );
  app.post(
    `${base}/:streamId/test`,
    {
      schema: {
        tags,
        operationId: 'testAuditStream',
        summary: "Send a test event and show the receiver's exact answer",
        params: StreamParams,
        response: { 200: ref(AuditStreamTestResult), ...errorResponses },
      },
    },
    async (request) => sendTestEvent(request.ctx, request.params.orgId, request.params.streamId),
  );
  app.post(
    `${base}/:streamId/retry`,
    {
      schema: {
        tags,
        operationId: 'retryAuditStream',
        summary: 'Leave dead-letter state and resume delivery from the cursor',
        params: StreamParams,
        response: { 200: ref(AuditStreamView), ...errorResponses },
      },
    },
    async (request) => retryStream(request.ctx, request.params.orgId, request.params.streamId),
  );
}
