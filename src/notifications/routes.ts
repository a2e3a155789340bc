import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { pageRequest, pageSchema } from '../http/pagination.js';
import { errorResponses, noContent } from '../http/schemas.js';
import {
  ChannelCreated,
  ChannelView,
  CreateChannelInput,
  UpdateChannelInput,
  createChannel,
  deleteChannel,
  getChannel,
  listChannels,
  updateChannel,
} from './channels.js';
import {
  DeliveryView,
  IncidentView,
  ListDeliveriesQuery,
  ListIncidentsQuery,
  ListNotificationsQuery,
  NotificationView,
  listDeliveries,
  listIncidents,
  listNotifications,
  retryDelivery,
} from './history.js';
import { RoutingInput, RoutingView, TypesView, getRouting, listTypes, putRouting } from './routing-admin.js';

/** The notifications admin API under /api/v1/orgs/:orgId/notifications (admins and primary owners). */
const tags = ['Notifications'];
const id = (d: string) => Type.String({ maxLength: 64, description: d });
const OrgP = Type.Object({ orgId: id('Organization id') });
const ChannelP = Type.Object({ orgId: id('Organization id'), channelId: id('Notification channel id') });
const DeliveryP = Type.Object({ orgId: id('Organization id'), notificationDeliveryId: id('Notification delivery id') });
const res = <S extends 200 | 201, T>(status: S, schema: T) =>
  ({ ...errorResponses, [status]: schema }) as typeof errorResponses & { [K in S]: T };

export async function notificationRoutes(root: FastifyInstance): Promise<void> {
  await root.register(
    async (r) => {
      const app = r.withTypeProvider<TypeBoxTypeProvider>();
      app.get(
        '',
        {
          schema: {
            tags,
            operationId: 'listNotifications',
            summary:
              'Notification history, newest first: facts, fix, and each delivery with its recipients, attempts and result',
            params: OrgP,
            querystring: ListNotificationsQuery,
            response: res(200, pageSchema(NotificationView)),
          },
        },
        async (q) => listNotifications(q.ctx, q.params.orgId, pageRequest(q.query), q.query.type),
      );
      app.get(
        '/types',
        {
          schema: {
            tags,
            operationId: 'listNotificationTypes',
            summary: 'Every notification type with its severity',
            params: OrgP,
            response: res(200, TypesView),
          },
        },
        async (q) => listTypes(q.ctx, q.params.orgId),
      );
      app.get(
        '/incidents',
        {
          schema: {
            tags,
            operationId: 'listNotificationIncidents',
            summary: 'Incidents (one per cause) with their reminder schedule; ?status=open',
            params: OrgP,
            querystring: ListIncidentsQuery,
            response: res(200, pageSchema(IncidentView)),
          },
        },
        async (q) => listIncidents(q.ctx, q.params.orgId, pageRequest(q.query), q.query.status),
      );
      app.get(
        '/deliveries',
        {
          schema: {
            tags,
            operationId: 'listNotificationDeliveries',
            summary: 'Deliveries and their state; ?status=dead is the dead-letter list',
            params: OrgP,
            querystring: ListDeliveriesQuery,
            response: res(200, pageSchema(DeliveryView)),
          },
        },
        async (q) => listDeliveries(q.ctx, q.params.orgId, pageRequest(q.query), q.query.status),
      );
      app.post(
        '/deliveries/:notificationDeliveryId/retry',
        {
          schema: {
            tags,
            operationId: 'retryNotificationDelivery',
            summary: 'Queue a dead-lettered delivery again',
            params: DeliveryP,
            response: res(200, DeliveryView),
          },
        },
        async (q) => retryDelivery(q.ctx, q.params.orgId, q.params.notificationDeliveryId),
      );
      app.get(
        '/channels',
        {
          schema: {
            tags,
            operationId: 'listNotificationChannels',
            summary: 'Channels: email, Slack, Teams, signed webhook',
            params: OrgP,
            response: res(200, Type.Object({ data: Type.Array(ChannelView) })),
          },
        },
        async (q) => listChannels(q.ctx, q.params.orgId),
      );
      app.post(
        '/channels',
        {
          schema: {
            tags,
            operationId: 'createNotificationChannel',
            summary: 'Add a channel (webhook URLs are stored encrypted; a webhook signing secret is shown once)',
            params: OrgP,
            body: CreateChannelInput,
            response: res(201, ChannelCreated),
          },
        },
        async (q, reply) => reply.status(201).send(await createChannel(q.ctx, q.params.orgId, q.body)),
      );
      app.get(
        '/channels/:channelId',
        {
          schema: {
            tags,
            operationId: 'getNotificationChannel',
            summary: 'A channel',
            params: ChannelP,
            response: res(200, ChannelView),
          },
        },
        async (q) => getChannel(q.ctx, q.params.orgId, q.params.channelId),
      );
      app.patch(
        '/channels/:channelId',
        {
          schema: {
            tags,
            operationId: 'updateNotificationChannel',
            summary: 'Rename a channel, change its URL or recipients, or rotate its signing secret',
            params: ChannelP,
            body: UpdateChannelInput,
            response: res(200, ChannelCreated),
          },
        },
        async (q) => updateChannel(q.ctx, q.params.orgId, q.params.channelId, q.body),
      );
      app.delete(
        '/channels/:channelId',
        {
          schema: {
            tags,
            operationId: 'deleteNotificationChannel',
            summary: 'Remove a channel and the routes naming it',
            params: ChannelP,
            response: { ...noContent, ...errorResponses },
          },
        },
        async (q, reply) => {
          await deleteChannel(q.ctx, q.params.orgId, q.params.channelId);
          return reply.status(204).send();
        },
      );
      app.get(
        '/routing',
        {
          schema: {
            tags,
            operationId: 'getNotificationRouting',
            summary: 'Which types go to which channels, here and inherited from parent organizations',
            params: OrgP,
            response: res(200, RoutingView),
          },
        },
        async (q) => getRouting(q.ctx, q.params.orgId),
      );
      app.put(
        '/routing',
        {
          schema: {
            tags,
            operationId: 'putNotificationRouting',
            summary: "Replace the organization's routes (types → channels, minimum severity)",
            params: OrgP,
            body: RoutingInput,
            response: res(200, RoutingView),
          },
        },
        async (q) => putRouting(q.ctx, q.params.orgId, q.body),
      );
    },
    { prefix: '/api/v1/orgs/:orgId/notifications' },
  );
}
