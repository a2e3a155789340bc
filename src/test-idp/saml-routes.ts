import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { deflateRawSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Ctx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { errorResponses } from '../http/schemas.js';
import { acsUrl, spEntityId } from '../sso/connections.js';
import { connectionById } from '../sso/login.js';
import { TEST_IDP_PREFIX, isTestIdpConnection } from '../sso/test-idp-policy.js';
import { assertFormToken, assertMayAssert, formToken, testIdpAdmin } from './admin-gate.js';
import {
  htmlResponse as html,
  identityFromForm,
  loginForm,
  postToAcs,
  prefill,
  refusalPage,
  refusalResponses,
} from './form.js';
import { testIdpKey } from './keys.js';
import { metadataXml, mintResponse, parseAuthnRequest } from './saml.js';

const tags = ['Test identity provider'];

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

/** What the SAML form's token is bound to: the connection, the AuthnRequest answered and its RelayState. */
const samlPending = (connectionId: string, requestId: string, relay: string) => [
  'saml',
  connectionId,
  requestId,
  relay,
];

/** This request as an HTTP-Redirect binding URL on Palisade, to come back to after signing in (a POST cannot be replayed by a link). */
function redirectBindingPath(encoded: string, binding: 'redirect' | 'post', relay: string): string {
  const request = binding === 'redirect' ? encoded : deflateRawSync(Buffer.from(encoded, 'base64')).toString('base64');
  const q = new URLSearchParams({ SAMLRequest: request, ...(relay ? { RelayState: relay } : {}) });
  return `${TEST_IDP_PREFIX}/saml/sso?${q.toString()}`;
}

/** The test IdP's SAML routes (metadata, single sign-on service, the form's answer), inside its plugin (./routes.ts). */
export function samlRoutes(root: FastifyInstance): void {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
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
    response: { 200: html('The test sign-in form.'), ...errorResponses, ...refusalResponses },
  });
  const showSamlForm = async (
    request: FastifyRequest,
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
    let admin;
    try {
      admin = await testIdpAdmin(ctx, request, conn);
    } catch (err) {
      if (!(err instanceof PalisadeError)) throw err;
      return refusalPage(reply, err, redirectBindingPath(encoded, binding, relay));
    }
    return loginForm(reply, {
      action: `${ctx.config.publicUrl}${TEST_IDP_PREFIX}/saml/login`,
      hidden: {
        connectionId: conn.id,
        requestId: req.id,
        ...(relay ? { RelayState: relay } : {}),
        formToken: formToken(admin, samlPending(conn.id, req.id, relay)),
      },
      prefill: prefill(admin),
      protocol: 'SAML',
      origin: new URL(ctx.config.publicUrl).origin,
      admin,
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
        response: {
          200: html('A page that posts the signed SAMLResponse to Palisade.'),
          ...errorResponses,
          ...refusalResponses,
        },
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
      const relay = typeof body.RelayState === 'string' ? body.RelayState.slice(0, 1000) : null;
      const identity = identityFromForm(body);
      try {
        const admin = await testIdpAdmin(ctx, request, conn);
        assertFormToken(ctx, request, admin, samlPending(conn.id, requestId, relay ?? ''), body.formToken);
        // An email NameID (not persistent): Palisade matches the account by the address.
        await assertMayAssert(ctx, conn, admin, {
          email: identity.email,
          subject: identity.email,
          stableSubject: false,
        });
      } catch (err) {
        if (!(err instanceof PalisadeError)) throw err;
        return refusalPage(reply, err, null);
      }
      const key = await testIdpKey(ctx.db, ctx.config, ctx.clock);
      const acs = acsUrl(ctx, conn.id);
      const samlResponse = mintResponse(ctx.config, key, {
        inResponseTo: requestId,
        audience: spEntityId(ctx, conn.id),
        acsUrl: acs,
        identity,
        now: ctx.clock.now(),
      });
      return postToAcs(reply, { acsUrl: acs, samlResponse, relayState: relay });
    },
  );
}
