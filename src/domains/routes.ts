import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PageQuerySchema, pageRequest, pageSchema } from '../http/pagination.js';
import { OrgParams, errorResponses, noContent } from '../http/schemas.js';
import { DiscoverView, discoverLogin } from './capture.js';
import {
  AddDomainInput,
  RemoveDomainQuery,
  UpdateDomainInput,
  addDomain,
  getDomain,
  listDomains,
  removeDomain,
  updateDomain,
} from './domains.js';
import { DomainNotificationView, listDomainNotifications } from './notifications.js';
import { verifyDomain } from './verify.js';
import { DiagnosisView, DomainView } from './views.js';

const tags = ['Domains'];
const DomainParams = Type.Object({ orgId: Type.String({ maxLength: 64 }), domainId: Type.String({ maxLength: 64 }) });
const PageQuery = Type.Object(PageQuerySchema);

export async function domainRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/orgs/:orgId/domains',
    {
      schema: {
        tags,
        operationId: 'createDomain',
        summary: 'Add a domain; returns the exact TXT record to publish',
        params: OrgParams,
        body: AddDomainInput,
        response: { 201: DomainView, ...errorResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await addDomain(request.ctx, request.params.orgId, request.body)),
  );
  app.get(
    '/orgs/:orgId/domains',
    {
      schema: {
        tags,
        operationId: 'listDomains',
        summary: 'List domains with their verification state',
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: pageSchema(DomainView), ...errorResponses },
      },
    },
    async (request) => listDomains(request.ctx, request.params.orgId, pageRequest(request.query)),
  );
  app.get(
    '/orgs/:orgId/domains/:domainId',
    {
      schema: {
        tags,
        operationId: 'getDomain',
        summary: 'A domain: instructions, state, grace period and last diagnosis',
        params: DomainParams,
        response: { 200: DomainView, ...errorResponses },
      },
    },
    async (request) => getDomain(request.ctx, request.params.orgId, request.params.domainId),
  );
  app.patch(
    '/orgs/:orgId/domains/:domainId',
    {
      schema: {
        operationId: 'updateDomain',
        tags,
        summary:
          'Opt in or out of capturing subdomains, and of auto-join at sign-in (the lockout guard replays sign-ins first)',
        params: DomainParams,
        body: UpdateDomainInput,
        response: { 200: DomainView, ...errorResponses },
      },
    },
    async (request) => updateDomain(request.ctx, request.params.orgId, request.params.domainId, request.body),
  );
  app.delete(
    '/orgs/:orgId/domains/:domainId',
    {
      schema: {
        operationId: 'removeDomain',
        tags,
        summary: 'Remove a domain (capture stops at once); the lockout guard replays sign-ins first',
        params: DomainParams,
        querystring: RemoveDomainQuery,
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await removeDomain(request.ctx, request.params.orgId, request.params.domainId, request.query);
      return reply.status(204).send();
    },
  );
  app.post(
    '/orgs/:orgId/domains/:domainId/verify',
    {
      schema: {
        tags,
        operationId: 'verifyDomain',
        summary: 'Check the TXT record now; answers with a diagnosis (200 whether or not the record is right)',
        params: DomainParams,
        response: {
          200: Type.Object({
            verified: Type.Boolean(),
            summary: Type.String(),
            domain: DomainView,
            diagnosis: DiagnosisView,
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => verifyDomain(request.ctx, request.params.orgId, request.params.domainId),
  );
  app.get(
    '/orgs/:orgId/domain-notifications',
    {
      schema: {
        tags,
        operationId: 'listDomainNotifications',
        summary: 'Domain state transitions (verified, failing, expired, recovered) as webhook-ready records',
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: pageSchema(DomainNotificationView), ...errorResponses },
      },
    },
    async (request) => listDomainNotifications(request.ctx, request.params.orgId, pageRequest(request.query)),
  );
  app.get(
    '/login/discover',
    {
      schema: {
        tags: ['Sign-in'],
        operationId: 'discoverLogin',
        summary:
          "Where the login page sends a person: an existing account's own organizations' sign-in methods, else the organization that manages their email domain",
        security: [],
        querystring: Type.Object({ email: Type.String({ maxLength: 254 }) }),
        response: { 200: DiscoverView, ...errorResponses },
      },
    },
    async (request) => discoverLogin(request.ctx, request.query.email),
  );
}
