import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { OrgParams, errorResponses } from '../http/schemas.js';
import {
  ComplianceKeyView,
  CreateComplianceKeyInput,
  createComplianceKey,
  getComplianceKey,
  listComplianceKeys,
  revokeComplianceKey,
} from './keys.js';

/** Compliance key administration for primary owners of a top-level organization (session or API token like every admin route). */
export async function complianceAdminRoutes(root: FastifyInstance): Promise<void> {
  await root.register(
    async (plugin) => {
      const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
      const tags = ['Compliance API keys'];
      const KeyParams = Type.Object({
        orgId: Type.String({ maxLength: 64 }),
        complianceKeyId: Type.String({ maxLength: 64 }),
      });
      const CreatedKey = Type.Object({
        key: Type.String({ description: 'The secret, shown this once: store it in your SIEM or vault now.' }),
        complianceKey: ComplianceKeyView,
      });

      // '' (not '/'): the collection is /compliance/keys, as documented, without a trailing-slash twin.
      app.post(
        '',
        {
          schema: {
            tags,
            operationId: 'createComplianceKey',
            summary: 'Create a compliance key (primary owners of a top-level organization; shown once)',
            params: OrgParams,
            body: CreateComplianceKeyInput,
            response: { 201: CreatedKey, ...errorResponses },
          },
        },
        async (req, reply) => reply.status(201).send(await createComplianceKey(req.ctx, req.params.orgId, req.body)),
      );
      app.get(
        '',
        {
          schema: {
            tags,
            operationId: 'listComplianceKeys',
            summary: 'Compliance keys of the organization, live and revoked',
            params: OrgParams,
            response: { 200: Type.Object({ data: Type.Array(ComplianceKeyView) }), ...errorResponses },
          },
        },
        async (req) => listComplianceKeys(req.ctx, req.params.orgId),
      );
      app.get(
        '/:complianceKeyId',
        {
          schema: {
            tags,
            operationId: 'getComplianceKey',
            summary: 'One compliance key',
            params: KeyParams,
            response: { 200: ComplianceKeyView, ...errorResponses },
          },
        },
        async (req) => getComplianceKey(req.ctx, req.params.orgId, req.params.complianceKeyId),
      );
      app.delete(
        '/:complianceKeyId',
        {
          schema: {
            tags,
            operationId: 'revokeComplianceKey',
            summary: 'Revoke a compliance key: it stops working on its next request',
            params: KeyParams,
            response: { 200: ComplianceKeyView, ...errorResponses },
          },
        },
        async (req) => revokeComplianceKey(req.ctx, req.params.orgId, req.params.complianceKeyId),
      );
    },
    { prefix: '/api/v1/orgs/:orgId/compliance/keys' },
  );
}
