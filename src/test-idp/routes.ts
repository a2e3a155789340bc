import { parse as parseQuery } from 'node:querystring';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Ctx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { OrgParams, errorResponses, ref } from '../http/schemas.js';
import { ConnectionView, acsUrl, spEntityId } from '../sso/connections.js';
import { connectionById } from '../sso/login.js';
import { TEST_IDP_PREFIX, isTestIdpConnection, testIdpOidcIssuer } from '../sso/test-idp-policy.js';
import { CreateTestIdpConnectionInput, assertTestIdpEnabled, createTestIdpConnection } from './connection.js';
import { type TestIdentity, identityFromForm, loginForm, postToAcs } from './form.js';
import { testIdpKey } from './keys.js';
import { OAuthError, checkAuthorize, clientById, discovery, exchangeCode, issueCode, userinfo } from './oidc.js';
import { metadataXml, mintResponse, parseAuthnRequest } from './saml.js';

const tags = ['Test identity provider'];

export const TestIdpOAuthError = Type.Object(
  { error: Type.String(), error_description: Type.String() },
  { $id: 'TestIdpOAuthError', description: 'An OAuth 2.0 error (RFC 6749 §5.2).' },
);
const TestIdpDiscovery = Type.Object(
  {
    issuer: Type.String(),
    authorization_endpoint: Type.String(),
    token_endpoint: Type.String(),
    userinfo_endpoint: Type.String(),
    jwks_uri: Type.String(),
    response_types_supported: Type.Array(Type.String()),
    grant_types_supported: Type.Array(Type.String()),
    subject_types_supported: Type.Array(Type.String()),
    id_token_signing_alg_values_supported: Type.Array(Type.String()),
    scopes_supported: Type.Array(Type.String()),
    token_endpoint_auth_methods_supported: Type.Array(Type.String()),
    code_challenge_methods_supported: Type.Array(Type.String()),
    claims_supported: Type.Array(Type.String()),
  },
  { $id: 'TestIdpDiscovery' },
);
const TestIdpJwks = Type.Object(
  {
    keys: Type.Array(
      Type.Object({
        kty: Type.String(),
        kid: Type.String(),
        use: Type.Literal('sig'),
        alg: Type.Literal('RS256'),
        n: Type.Optional(Type.String()),
        e: Type.Optional(Type.String()),
      }),
    ),
  },
  { $id: 'TestIdpJwks' },
);
const TestIdpTokens = Type.Object(
  {
    access_token: Type.String(),
    token_type: Type.String(),
    expires_in: Type.Integer(),
    id_token: Type.String(),
    scope: Type.String(),
  },
  { $id: 'TestIdpTokens' },
);
const TestIdpUserinfo = Type.Object(
  {
    sub: Type.String(),
    email: Type.String(),
    email_verified: Type.Boolean(),
    name: Type.Optional(Type.String()),
    given_name: Type.Optional(Type.String()),
    family_name: Type.Optional(Type.String()),
    groups: Type.Array(Type.String()),
  },
  { $id: 'TestIdpUserinfo' },
);
/** Named response components of these routes, registered at the root by app.ts (see sharedSchemas there). */
export const testIdpSchemas = [TestIdpOAuthError, TestIdpDiscovery, TestIdpJwks, TestIdpTokens, TestIdpUserinfo];

const html = (description: string) => ({
  description,
  content: { 'text/html': { schema: Type.String({ description: 'An HTML page.' }) } },
});
const oauthErrors = { ...errorResponses, 400: ref(TestIdpOAuthError), 401: ref(TestIdpOAuthError) };

/** The sign-in form's prefill: an address at one of the organization's verified domains, if it has one. */
async function prefill(ctx: Ctx, orgId: string): Promise<TestIdentity> {
  const domain = await ctx.db
    .selectFrom('domains')
    .select('name')
    .where('org_id', '=', orgId)
    .where('status', '=', 'verified')
    .orderBy('name')
    .executeTakeFirst();
  return { email: domain ? `test.user@${domain.name}` : '', firstName: 'Test', lastName: 'User', groups: [] };
}

/** The SAML connection an AuthnRequest comes from: only Palisade's own connections to this test IdP are answered. */
async function samlConnection(ctx: Ctx, connectionId: string) {
  const conn = await connectionById(ctx, connectionId);
  if (!conn || conn.protocol !== 'saml' || !isTestIdpConnection(conn))
    throw new PalisadeError(
      400,
      'test_idp_request_invalid',
      'This sign-in request does not come from a Palisade connection to the test identity provider. Start signing in again from Palisade.',
    );
  return conn;
}

const errorPage = (reply: FastifyReply, err: OAuthError) =>
  reply
    .status(400)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head><body><p>Palisade test identity provider — not for production</p><h1>Request refused</h1><p>${err.error}: ${err.description.replace(/[&<>"']/g, '')}</p></body></html>`,
    );

/** The test IdP itself: its own plugin under /test-idp, answering 404 test_idp_disabled for everything while off. */
async function protocolRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 256 * 1024 },
    (_req, body, done) => done(null, parseQuery(body as string)),
  );
  app.addHook('onRequest', async (request) => assertTestIdpEnabled(request.ctx));

  app.get(
    '/saml/metadata',
    {
      schema: {
        tags,
        operationId: 'getTestIdpSamlMetadata',
        summary: 'SAML metadata of the built-in test identity provider (off unless PALISADE_TEST_IDP is on)',
        response: {
          200: {
            description: 'The IdP metadata: entity id, SSO URL, signing certificate.',
            content: { 'application/samlmetadata+xml': { schema: Type.String() } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      reply
        .type('application/samlmetadata+xml')
        .send(metadataXml(request.ctx.config, await testIdpKey(request.ctx.db, request.ctx.config, request.ctx.clock))),
  );

  const ssoSchema = (operationId: string, binding: string) => ({
    tags,
    operationId,
    summary: `Test IdP SAML single sign-on service (${binding} binding): shows the test sign-in form`,
    response: { 200: html('The test sign-in form.'), ...errorResponses },
  });
  const showSamlForm = async (
    request: { ctx: Ctx },
    reply: FastifyReply,
    fields: Record<string, unknown>,
    binding: 'redirect' | 'post',
  ) => {
    const ctx = request.ctx;
    const encoded = typeof fields.SAMLRequest === 'string' ? fields.SAMLRequest : '';
    const req = parseAuthnRequest(encoded, binding);
    const prefix = `${ctx.config.publicUrl}/sso/saml/`;
    const connectionId = req.issuer.startsWith(prefix) ? req.issuer.slice(prefix.length) : '';
    const conn = await samlConnection(ctx, connectionId);
    if (req.issuer !== spEntityId(ctx, conn.id) || (req.acsUrl !== null && req.acsUrl !== acsUrl(ctx, conn.id)))
      throw new PalisadeError(
        400,
        'test_idp_request_invalid',
        "The request's issuer or ACS URL is not the connection's. Start signing in again from Palisade.",
      );
    const relay = typeof fields.RelayState === 'string' ? fields.RelayState.slice(0, 1000) : '';
    return loginForm(reply, {
      action: `${ctx.config.publicUrl}${TEST_IDP_PREFIX}/saml/login`,
      hidden: { connectionId: conn.id, requestId: req.id, ...(relay ? { RelayState: relay } : {}) },
      prefill: await prefill(ctx, conn.org_id),
      protocol: 'SAML',
      origin: new URL(ctx.config.publicUrl).origin,
    });
  };
  app.get(
    '/saml/sso',
    {
      schema: {
        ...ssoSchema('startTestIdpSamlLogin', 'HTTP-Redirect'),
        querystring: Type.Object({
          SAMLRequest: Type.String({ maxLength: 64_000 }),
          RelayState: Type.Optional(Type.String({ maxLength: 1000 })),
          SigAlg: Type.Optional(Type.String({ maxLength: 200 })),
          Signature: Type.Optional(Type.String({ maxLength: 2000 })),
        }),
      },
    },
    async (request, reply) => showSamlForm(request, reply, request.query, 'redirect'),
  );
  app.post('/saml/sso', { schema: ssoSchema('postTestIdpSamlLogin', 'HTTP-POST') }, async (request, reply) =>
    showSamlForm(request, reply, (request.body ?? {}) as Record<string, unknown>, 'post'),
  );
  app.post(
    '/saml/login',
    {
      schema: {
        tags,
        operationId: 'completeTestIdpSamlLogin',
        summary: "Test IdP: signs a SAML response for what was typed and posts it to the connection's ACS URL",
        response: { 200: html('A page that posts the signed SAMLResponse to Palisade.'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const ctx = request.ctx;
      const body = (request.body ?? {}) as Record<string, unknown>;
      const conn = await samlConnection(ctx, typeof body.connectionId === 'string' ? body.connectionId : '');
      const requestId = typeof body.requestId === 'string' ? body.requestId : '';
      if (!/^[A-Za-z_][\w.-]{0,199}$/.test(requestId))
        throw new PalisadeError(
          400,
          'test_idp_request_invalid',
          'The sign-in request id is missing. Start signing in again from Palisade.',
        );
      const key = await testIdpKey(ctx.db, ctx.config, ctx.clock);
      const acs = acsUrl(ctx, conn.id);
      const samlResponse = mintResponse(ctx.config, key, {
        inResponseTo: requestId,
        audience: spEntityId(ctx, conn.id),
        acsUrl: acs,
        identity: identityFromForm(body),
        now: ctx.clock.now(),
      });
      return postToAcs(reply, {
        acsUrl: acs,
        samlResponse,
        relayState: typeof body.RelayState === 'string' ? body.RelayState.slice(0, 1000) : null,
      });
    },
  );

  app.get(
    '/oidc/.well-known/openid-configuration',
    {
      schema: {
        tags,
        operationId: 'getTestIdpOidcDiscovery',
        summary: 'OpenID Connect discovery document of the built-in test identity provider',
        response: { 200: ref(TestIdpDiscovery), ...errorResponses },
      },
    },
    async (request) => discovery(request.ctx),
  );
  app.get(
    '/oidc/jwks',
    {
      schema: {
        tags,
        operationId: 'getTestIdpJwks',
        summary: "The test identity provider's public signing key (JWK set)",
        response: { 200: ref(TestIdpJwks), ...errorResponses },
      },
    },
    async (request) => ({ keys: [(await testIdpKey(request.ctx.db, request.ctx.config, request.ctx.clock)).jwk] }),
  );
  const AuthorizeQuery = Type.Object({
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
    redirect_uri: Type.Optional(Type.String({ maxLength: 1000 })),
    response_type: Type.Optional(Type.String({ maxLength: 100 })),
    scope: Type.Optional(Type.String({ maxLength: 500 })),
    state: Type.Optional(Type.String({ maxLength: 500 })),
    nonce: Type.Optional(Type.String({ maxLength: 500 })),
    code_challenge: Type.Optional(Type.String({ maxLength: 200 })),
    code_challenge_method: Type.Optional(Type.String({ maxLength: 20 })),
  });
  app.get(
    '/oidc/authorize',
    {
      schema: {
        tags,
        operationId: 'startTestIdpOidcLogin',
        summary: 'Test IdP OIDC authorization endpoint: shows the test sign-in form',
        querystring: AuthorizeQuery,
        response: { ...errorResponses, 200: html('The test sign-in form.'), 400: html('The request was refused.') },
      },
    },
    async (request, reply) => {
      const ctx = request.ctx;
      try {
        const req = await checkAuthorize(ctx, request.query);
        const conn = await clientById(ctx, req.clientId);
        return loginForm(reply, {
          action: `${ctx.config.publicUrl}${TEST_IDP_PREFIX}/oidc/login`,
          hidden: {
            client_id: req.clientId,
            redirect_uri: req.redirectUri,
            response_type: 'code',
            scope: 'openid',
            state: req.state,
            ...(req.nonce !== null ? { nonce: req.nonce } : {}),
            ...(req.codeChallenge !== null ? { code_challenge: req.codeChallenge, code_challenge_method: 'S256' } : {}),
          },
          prefill: await prefill(ctx, conn?.org_id ?? ''),
          protocol: 'OpenID Connect',
          origin: new URL(ctx.config.publicUrl).origin,
        });
      } catch (err) {
        if (err instanceof OAuthError) return errorPage(reply, err);
        throw err;
      }
    },
  );
  app.post(
    '/oidc/login',
    {
      schema: {
        tags,
        operationId: 'completeTestIdpOidcLogin',
        summary: "Test IdP: issues an authorization code for what was typed and returns to Palisade's callback",
        response: {
          ...errorResponses,
          303: Type.Null({
            description: "Back to Palisade's callback with the code.",
            headers: { location: Type.String() },
          }),
          400: html('The request was refused.'),
        },
      },
    },
    async (request, reply) => {
      const ctx = request.ctx;
      const body = (request.body ?? {}) as Record<string, string | undefined>;
      try {
        const req = await checkAuthorize(ctx, body);
        let identity: TestIdentity;
        try {
          identity = identityFromForm(body);
        } catch (err) {
          throw err instanceof PalisadeError ? new OAuthError('invalid_request', err.message) : err;
        }
        const code = await issueCode(ctx, req, identity);
        const to = new URL(req.redirectUri);
        to.searchParams.set('code', code);
        if (req.state) to.searchParams.set('state', req.state);
        to.searchParams.set('iss', testIdpOidcIssuer(ctx.config));
        return reply.header('cache-control', 'no-store').redirect(to.href, 303);
      } catch (err) {
        if (err instanceof OAuthError) return errorPage(reply, err);
        throw err;
      }
    },
  );
  app.post(
    '/oidc/token',
    {
      schema: {
        tags,
        operationId: 'exchangeTestIdpCode',
        summary: 'Test IdP OIDC token endpoint: authorization code (single use, 60 s, PKCE) for an ID token',
        response: { 200: ref(TestIdpTokens), ...oauthErrors },
      },
    },
    async (request, reply) => {
      try {
        const tokens = await exchangeCode(
          request.ctx,
          request.headers.authorization,
          (request.body ?? {}) as Record<string, string | undefined>,
        );
        return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(tokens);
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err;
        return reply
          .status(err.status)
          .header('cache-control', 'no-store')
          .send({ error: err.error, error_description: err.description });
      }
    },
  );
  app.get(
    '/oidc/userinfo',
    {
      schema: {
        tags,
        operationId: 'getTestIdpUserinfo',
        summary: 'Test IdP OIDC userinfo endpoint',
        response: { 200: ref(TestIdpUserinfo), ...oauthErrors },
      },
    },
    async (request, reply) => {
      try {
        return reply
          .header('cache-control', 'no-store')
          .send(await userinfo(request.ctx, request.headers.authorization));
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err;
        return reply
          .status(err.status)
          .header('www-authenticate', `Bearer error="${err.error}"`)
          .send({ error: err.error, error_description: err.description });
      }
    },
  );
}

export async function testIdpRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/api/v1/orgs/:orgId/sso/test-idp-connections',
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
  await root.register(protocolRoutes, { prefix: TEST_IDP_PREFIX });
}
