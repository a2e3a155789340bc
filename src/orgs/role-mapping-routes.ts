import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { OrgParams, errorResponses } from '../http/schemas.js';
import { PreviewInput, RoleMappingInput, getRoleMapping, previewRoleMapping, putRoleMapping } from './role-mapping.js';

const tags = ['Role mapping'];

export async function roleMappingRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/api/v1/orgs/:orgId/role-mapping', { schema: { tags, summary: 'Group-to-role rules and the required group prefix', params: OrgParams, response: errorResponses } }, async (request) =>
    getRoleMapping(request.ctx, request.params.orgId),
  );
  app.put(
    '/api/v1/orgs/:orgId/role-mapping',
    { schema: { tags, summary: 'Replace the group-to-role rules (used by SSO and SCIM)', params: OrgParams, body: RoleMappingInput, response: errorResponses } },
    async (request) => putRoleMapping(request.ctx, request.params.orgId, request.body),
  );
  app.post(
    '/api/v1/orgs/:orgId/role-mapping/preview',
    { schema: { tags, summary: 'Dry run: which role given groups or people would get, and why', params: OrgParams, body: PreviewInput, response: errorResponses } },
    async (request) => previewRoleMapping(request.ctx, request.params.orgId, request.body),
  );
}
