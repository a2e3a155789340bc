import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PalisadeError } from '../errors.js';
import { errorResponses, ref } from '../http/schemas.js';
import { TEST_IDP_PREFIX, testIdpOidcIssuer } from '../sso/test-idp-policy.js';
import { assertFormToken, assertMayAssert, formToken, testIdpAdmin } from './admin-gate.js';
import {
  type TestIdentity,
  htmlResponse as html,
  identityFromForm,
  loginForm,
  prefill,
  refusalPage,
  refusalResponses,
} from './form.js';
import { testIdpKey } from './keys.js';
import {
  type AuthorizeRequest,
  OAuthError,
  checkAuthorize,
  clientById,
  discovery,
  exchangeCode,
  issueCode,
  subjectOf,
  userinfo,
} from './oidc.js';

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
/** Named response components of the OIDC routes (registered at the root through ./routes.ts testIdpSchemas). */
export const testIdpOidcSchemas = [TestIdpOAuthError, TestIdpDiscovery, TestIdpJwks, TestIdpTokens, TestIdpUserinfo];
const oauthErrors = { ...errorResponses, 400: ref(TestIdpOAuthError), 401: ref(TestIdpOAuthError) };

const errorPage = (reply: FastifyReply, err: OAuthError) =>
  reply
    .status(400)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head><body><p>Palisade test identity provider — not for production</p><h1>Request refused</h1><p>${err.error}: ${err.description.replace(/[&<>"']/g, '')}</p></body></html>`,
    );

/** What the OIDC form's token is bound to: the authorization request answered. */
const oidcPending = (r: AuthorizeRequest) => [
  'oidc',
  r.clientId,
  r.redirectUri,
  r.state,
  r.nonce ?? '',
  r.codeChallenge ?? '',
];

/** The test IdP's OpenID Connect routes, inside its plugin (./routes.ts). */
export function oidcRoutes(root: FastifyInstance): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
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
        response: {
          ...errorResponses,
          ...refusalResponses,
          200: html('The test sign-in form.'),
          400: html('The request was refused.'),
        },
      },
    },
    async (request, reply) => {
      const ctx = request.ctx;
      try {
        const req = await checkAuthorize(ctx, request.query);
        const conn = await clientById(ctx, req.clientId);
        if (!conn) throw new OAuthError('invalid_client', 'Unknown client_id.');
        let admin;
        try {
          admin = await testIdpAdmin(ctx, request, conn);
        } catch (err) {
          if (!(err instanceof PalisadeError)) throw err;
          return refusalPage(reply, err, request.url);
        }
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
            formToken: formToken(admin, oidcPending(req)),
          },
          prefill: prefill(admin),
          protocol: 'OpenID Connect',
          origin: new URL(ctx.config.publicUrl).origin,
          admin,
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
          ...refusalResponses,
        },
      },
    },
    async (request, reply) => {
      const ctx = request.ctx;
      const body = (request.body ?? {}) as Record<string, string | undefined>;
      try {
        const req = await checkAuthorize(ctx, body);
        const conn = await clientById(ctx, req.clientId);
        if (!conn) throw new OAuthError('invalid_client', 'Unknown client_id.');
        let identity: TestIdentity;
        try {
          identity = identityFromForm(body);
        } catch (err) {
          throw err instanceof PalisadeError ? new OAuthError('invalid_request', err.message) : err;
        }
        try {
          const admin = await testIdpAdmin(ctx, request, conn);
          assertFormToken(ctx, request, admin, oidcPending(req), body.formToken);
          // The subject the ID token will carry: Palisade matches the account by it first.
          await assertMayAssert(ctx, conn, admin, {
            email: identity.email,
            subject: subjectOf(identity.email),
            stableSubject: true,
          });
        } catch (err) {
          if (!(err instanceof PalisadeError)) throw err;
          return refusalPage(reply, err, null);
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
