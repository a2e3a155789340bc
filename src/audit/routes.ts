import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { authorize } from '../orgs/authorize.js';
import { pageSchema } from '../http/pagination.js';
import { OrgParams, errorResponses } from '../http/schemas.js';
import { AuditSearchQuery, searchAuditEvents } from './search.js';
import { verifyChain } from './verify.js';

const tags = ['Audit log'];
const Nullable = (t: ReturnType<typeof Type.String>) => Type.Union([t, Type.Null()]);

export const AuditEventSchema = Type.Object({
  id: Type.String(),
  orgId: Type.String(),
  seq: Type.Integer(),
  occurredAt: Type.String(),
  actor: Type.Object({ type: Type.String(), id: Nullable(Type.String()), email: Nullable(Type.String()), ip: Nullable(Type.String()), userAgent: Nullable(Type.String()) }),
  action: Type.String(),
  targets: Type.Array(Type.Object({ type: Type.String(), id: Type.String(), name: Type.Optional(Type.String()) })),
  outcome: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  requestId: Nullable(Type.String()),
  prevHash: Type.String(),
  hash: Type.String(),
});

export async function auditRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/v1/orgs/:orgId/audit-events',
    { schema: { tags, summary: 'Search the audit log (admins and owners)', params: OrgParams, querystring: AuditSearchQuery, response: { 200: pageSchema(AuditEventSchema), ...errorResponses } } },
    async (request) => searchAuditEvents(request.ctx, request.params.orgId, request.query),
  );
  app.get('/api/v1/orgs/:orgId/audit-events/verify', { schema: { tags, summary: "Verify the organization's audit hash chain", params: OrgParams, response: errorResponses } }, async (request) => {
    await authorize(request.ctx, request.params.orgId, 'audit.read');
    return verifyChain(request.ctx.db, request.params.orgId);
  });
}
