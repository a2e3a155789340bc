import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { pageRequest, pageSchema } from '../http/pagination.js';
import { OrgParams, errorResponses } from '../http/schemas.js';
import { DeliveryParams, EmailDeliveryView, ListDeliveriesQuery, listDeliveries, retryDelivery } from './deliveries.js';

const tags = ['Email'];

export async function emailRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/orgs/:orgId/email-deliveries',
    {
      schema: {
        tags,
        operationId: 'listEmailDeliveries',
        summary:
          "The organization's outgoing mail and its state; ?status=dead lists messages that failed every attempt",
        params: OrgParams,
        querystring: ListDeliveriesQuery,
        response: { 200: pageSchema(EmailDeliveryView), ...errorResponses },
      },
    },
    async (request) =>
      listDeliveries(request.ctx, request.params.orgId, pageRequest(request.query), request.query.status),
  );
  app.post(
    '/orgs/:orgId/email-deliveries/:deliveryId/retry',
    {
      schema: {
        tags,
        operationId: 'retryEmailDelivery',
        summary: 'Send a dead message again',
        params: DeliveryParams,
        response: { 200: EmailDeliveryView, ...errorResponses },
      },
    },
    async (request) => retryDelivery(request.ctx, request.params.orgId, request.params.deliveryId),
  );
}
