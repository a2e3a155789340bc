import { parse as parseQuery } from 'node:querystring';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { OrgParams, errorResponses } from '../http/schemas.js';
import { ConnectionView } from '../sso/connections.js';
import { TEST_IDP_PREFIX } from '../sso/test-idp-policy.js';
import { CreateTestIdpConnectionInput, assertTestIdpEnabled, createTestIdpConnection } from './connection.js';
import { oidcRoutes, testIdpOidcSchemas } from './oidc-routes.js';
import { samlRoutes } from './saml-routes.js';

/** Named response components of these routes, registered at the root by app.ts (see sharedSchemas there). */
export const testIdpSchemas = testIdpOidcSchemas;

/**
 * The test IdP itself: its own plugin under /test-idp (its own form parser; src/auth/identify.ts does
 * not identify its callers: its form identifies the admin itself, ./admin-gate.ts), answering 404
 * test_idp_disabled for everything while the installation has it off.
 */
async function protocolRoutes(app: FastifyInstance): Promise<void> {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 256 * 1024 },
    (_req, body, done) => done(null, parseQuery(body as string)),
  );
  app.addHook('onRequest', async (request) => assertTestIdpEnabled(request.ctx));
  samlRoutes(app);
  oidcRoutes(app);
}

export async function testIdpRoutes(root: FastifyInstance): Promise<void> {
  // Two surfaces: creating a test-IdP connection (the API, /api/v1) and the IdP itself (/test-idp).
  await root.register(adminRoutes, { prefix: '/api/v1' });
  await root.register(protocolRoutes, { prefix: TEST_IDP_PREFIX });
}

async function adminRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/orgs/:orgId/sso/test-idp-connections',
    {
      schema: {
        tags: ['Single sign-on'],
        operationId: 'createTestIdpConnection',
        summary:
          "Create a connection to Palisade's built-in test identity provider (only while the installation turns it on; it signs in only addresses at this organization's verified domains)",
        params: OrgParams,
        body: CreateTestIdpConnectionInput,
        response: { 201: ConnectionView, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createTestIdpConnection(request.ctx, request.params.orgId, request.body)),
  );
}
