import { setSessionCookie } from '../auth/session-cookie.js';
import { randomBytes } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../errors.js';
import { OrgParams, errorResponses, noContent, ref } from '../http/schemas.js';
import { SignInView } from '../auth/views.js';
import { PageQuerySchema, pageRequest, pageSchema } from '../http/pagination.js';
import {
  ConnectionView,
  CreateConnectionInput,
  UpdateConnectionInput,
  createConnection,
  getConnection,
  listConnections,
} from './connections.js';
import {
  DeleteConnectionQuery,
  ImpactInput,
  ImpactResponse,
  UpdatedConnectionView,
  connectionChangeImpact,
  deleteConnection,
  updateConnection,
} from './connection-changes.js';
import { type FailureReport, SsoFailure, reportFailure } from './diagnosis.js';
import {
  EnforceInput,
  EnforcedView,
  EnforcementView,
  enforceSso,
  getEnforcement,
  stopEnforcingSso,
} from './enforcement.js';
import { type FlowResult, oidcCallback, samlAcs } from './flow.js';
import { connectionById, startLogin } from './login.js';
import { PRESETS, PresetList } from './presets.js';
import { publicJwk } from './oidc-client.js';
import { spMetadataXml } from './saml.js';
import { SimulateInput, SimulationView, simulateLogin } from './simulate.js';
import { BreakGlassOwnersView, listBreakGlassOwners } from './break-glass.js';
import { EnforcementDryRunInput, EnforcementDryRunView, dryRunEnforcement } from './enforcement-dry-run.js';
import { IdentityLinkView, listIdentityLinks, releaseIdentityLink } from './identities.js';
import {
  IssueRecoveryLinkInput,
  RecoveryLinkView,
  RedeemRecoveryInput,
  issueRecoveryLink,
  redeemRecoveryLink,
  revokeRecoveryLink,
} from './recovery.js';
import {
  BreakGlassInput,
  TotpCodeInput,
  TotpEnrollmentView,
  breakGlassLogin,
  confirmTotp,
  removeTotp,
  startTotpEnrollment,
  totpStatus,
} from './totp.js';

const tags = ['Single sign-on'];
/** Ties a sign-in to the browser that started it. */
const BINDING_COOKIE = 'palisade_sso';
const ConnParams = Type.Object({ orgId: Type.String({ maxLength: 64 }), connectionId: Type.String({ maxLength: 64 }) });
const PublicConnParams = Type.Object({ connectionId: Type.String({ maxLength: 64 }) });
/** Sign-in ends in a redirect to the app; a failure is an HTML page with a reference (never JSON). */
const redirect = (description: string) =>
  Type.Null({ description, headers: { location: Type.String({ description: 'Where the browser goes next.' }) } });
const signedInRedirect = { 303: redirect('Signed in: the session cookie is set and the browser goes to the app.') };
const OidcClientJwks = Type.Object(
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
  { $id: 'OidcClientJwks' },
);

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What the person sees when SSO fails: plain words and the reference the admin searches the audit log for. */
function failurePage(reply: FastifyReply, status: number, f: FailureReport) {
  reply.header('x-sso-error', f.code).header('x-sso-reference', f.reference).header('cache-control', 'no-store');
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in failed</title></head><body><main><h1>Sign-in failed</h1><p id="message">${escapeHtml(f.message)}</p><p>Reference: <code id="reference">${escapeHtml(f.reference)}</code> (error ${escapeHtml(f.code)})</p><p><a href="/">Back to sign-in</a></p></main></body></html>`,
    );
}

function finish(request: FastifyRequest, reply: FastifyReply, result: FlowResult) {
  if (!result.ok) return failurePage(reply, result.status, result.failure);
  setSessionCookie(request, reply, result.session);
  const notice = result.notice ? `sso_notice=${result.notice}` : '';
  if (result.purpose === 'test')
    return reply.redirect(`/?sso_test=ok&org=${encodeURIComponent(result.orgId)}${notice ? `&${notice}` : ''}`, 303);
  return reply.redirect(notice ? `/?${notice}` : '/', 303);
}

/** Named response components of these routes, registered at the root by app.ts (see sharedSchemas there). */
export const ssoSchemas = [
  PresetList,
  SimulationView,
  EnforcementView,
  EnforcementDryRunView,
  BreakGlassOwnersView,
  TotpEnrollmentView,
  OidcClientJwks,
];

export async function ssoRoutes(root: FastifyInstance): Promise<void> {
  // Two surfaces: the administration and account API under /api/v1, and the person-facing sign-in
  // protocol under /sso (pages, redirects, SAML form posts).
  await root.register(ssoApiRoutes, { prefix: '/api/v1' });
  await root.register(ssoFlowRoutes, { prefix: '/sso' });
}

async function ssoApiRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/sso/presets',
    {
      schema: {
        tags,
        operationId: 'listSsoPresets',
        summary: 'Identity-provider presets: claim/attribute names and what to configure there',
        response: { 200: ref(PresetList), ...errorResponses },
      },
    },
    async (request) => ({ data: Object.values(PRESETS), testIdpEnabled: request.ctx.config.testIdp }),
  );

  app.get(
    '/orgs/:orgId/sso/connections',
    {
      schema: {
        tags,
        operationId: 'listSsoConnections',
        summary: 'List SSO connections',
        params: OrgParams,
        response: { 200: Type.Object({ data: Type.Array(ConnectionView) }), ...errorResponses },
      },
    },
    async (request) => listConnections(request.ctx, request.params.orgId),
  );
  app.post(
    '/orgs/:orgId/sso/connections',
    {
      schema: {
        tags,
        operationId: 'createSsoConnection',
        summary: 'Create a SAML or OIDC connection (secrets are never returned)',
        params: OrgParams,
        body: CreateConnectionInput,
        response: { 201: ConnectionView, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createConnection(request.ctx, request.params.orgId, request.body)),
  );
  app.get(
    '/orgs/:orgId/sso/connections/:connectionId',
    {
      schema: {
        tags,
        operationId: 'getSsoConnection',
        summary: 'Read an SSO connection',
        params: ConnParams,
        response: { 200: ConnectionView, ...errorResponses },
      },
    },
    async (request) => getConnection(request.ctx, request.params.orgId, request.params.connectionId),
  );
  app.patch(
    '/orgs/:orgId/sso/connections/:connectionId',
    {
      schema: {
        operationId: 'updateSsoConnection',
        tags,
        summary:
          'Change a connection. Recent sign-ins are replayed against the change first: one that takes sign-in access or a role away is refused (409 sso_change_would_lock_out, listing who and why) unless acknowledged',
        params: ConnParams,
        body: UpdateConnectionInput,
        response: { 200: UpdatedConnectionView, ...errorResponses },
      },
    },
    async (request) => updateConnection(request.ctx, request.params.orgId, request.params.connectionId, request.body),
  );
  app.post(
    '/orgs/:orgId/sso/connections/:connectionId/simulate',
    {
      schema: {
        tags,
        operationId: 'simulateSsoLogin',
        summary:
          'Dry run: the user, role and organization a login with these claims (or this SAML response) would produce, and why',
        params: ConnParams,
        body: SimulateInput,
        response: { 200: ref(SimulationView), ...errorResponses },
      },
    },
    async (request) => simulateLogin(request.ctx, request.params.orgId, request.params.connectionId, request.body),
  );
  app.post(
    '/orgs/:orgId/sso/connections/:connectionId/impact',
    {
      schema: {
        operationId: 'previewSsoChangeImpact',
        tags,
        summary:
          "Before a change to this connection or to the group-to-role mapping: the lockout guard's answer (who would lose access or a role, who is degraded, what fails already); nothing is changed",
        params: ConnParams,
        body: ImpactInput,
        response: { 200: ImpactResponse, ...errorResponses },
      },
    },
    async (request) =>
      connectionChangeImpact(request.ctx, request.params.orgId, request.params.connectionId, request.body),
  );
  app.get(
    '/orgs/:orgId/sso/enforcement',
    {
      schema: {
        tags,
        operationId: 'getSsoEnforcement',
        summary: 'Whether members must sign in with SSO',
        params: OrgParams,
        response: { 200: ref(EnforcementView), ...errorResponses },
      },
    },
    async (request) => getEnforcement(request.ctx, request.params.orgId),
  );
  app.post(
    '/orgs/:orgId/sso/enforcement/dry-run',
    {
      schema: {
        tags,
        operationId: 'dryRunSsoEnforcement',
        summary:
          "Dry run of requiring SSO through a connection: what is missing, who would lose password sign-in, who has no SSO identity yet, the primary owners' break-glass status and the lockout guard's answer; nothing is changed",
        params: OrgParams,
        body: EnforcementDryRunInput,
        response: { 200: ref(EnforcementDryRunView), ...errorResponses },
      },
    },
    async (request) => dryRunEnforcement(request.ctx, request.params.orgId, request.body),
  );
  app.get(
    '/orgs/:orgId/sso/break-glass',
    {
      schema: {
        tags,
        operationId: 'listSsoBreakGlassOwners',
        summary:
          "Each primary owner's break-glass status (password and confirmed authenticator app), which SSO enforcement needs for at least one",
        params: OrgParams,
        response: { 200: ref(BreakGlassOwnersView), ...errorResponses },
      },
    },
    async (request) => listBreakGlassOwners(request.ctx, request.params.orgId),
  );
  app.put(
    '/orgs/:orgId/sso/enforcement',
    {
      schema: {
        operationId: 'enforceSso',
        tags,
        summary:
          'Require SSO for members (needs a recent admin test login and a break-glass owner; the lockout guard lists members who would be left without a way in, refused unless acknowledged)',
        params: OrgParams,
        body: EnforceInput,
        response: { 200: EnforcedView, ...errorResponses },
      },
    },
    async (request) => enforceSso(request.ctx, request.params.orgId, request.body),
  );
  app.delete(
    '/orgs/:orgId/sso/enforcement',
    {
      schema: {
        tags,
        operationId: 'disableSsoEnforcement',
        summary: 'Stop requiring SSO',
        params: OrgParams,
        response: { 200: ref(EnforcementView), ...errorResponses },
      },
    },
    async (request) => stopEnforcingSso(request.ctx, request.params.orgId),
  );
  app.delete(
    '/orgs/:orgId/sso/connections/:connectionId',
    {
      schema: {
        operationId: 'deleteSsoConnection',
        tags,
        summary:
          'Delete an SSO connection (refused while enforced, and by the lockout guard when people sign in only through it, unless ?acknowledgeWarnings=true)',
        params: ConnParams,
        querystring: DeleteConnectionQuery,
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteConnection(request.ctx, request.params.orgId, request.params.connectionId, request.query);
      return reply.status(204).send();
    },
  );

  const IdentityParams = Type.Object({
    orgId: Type.String({ maxLength: 64 }),
    connectionId: Type.String({ maxLength: 64 }),
    userId: Type.String({ maxLength: 64 }),
  });
  app.get(
    '/orgs/:orgId/sso/connections/:connectionId/identities',
    {
      schema: {
        operationId: 'listSsoIdentityLinks',
        tags,
        summary: 'Stable IdP subjects (OIDC sub, SAML persistent NameID) linked to accounts through this connection',
        params: ConnParams,
        querystring: Type.Object(PageQuerySchema),
        response: { 200: pageSchema(IdentityLinkView), ...errorResponses },
      },
    },
    async (request) =>
      listIdentityLinks(request.ctx, request.params.orgId, request.params.connectionId, pageRequest(request.query)),
  );
  app.delete(
    '/orgs/:orgId/sso/connections/:connectionId/identities/:userId',
    {
      schema: {
        operationId: 'releaseSsoIdentityLink',
        tags,
        summary:
          'Release the link between an account and its IdP subject (after the address was given to someone new at the IdP); the next sign-in links again',
        params: IdentityParams,
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await releaseIdentityLink(request.ctx, request.params.orgId, request.params.connectionId, request.params.userId);
      return reply.status(204).send();
    },
  );
  app.post(
    '/orgs/:orgId/sso/recovery-links',
    {
      schema: {
        operationId: 'issueSsoRecoveryLink',
        tags,
        summary:
          'Primary owners: a time-limited, single-use link that lets one member of this organization in without SSO (one short session, no password set; audited)',
        params: OrgParams,
        body: IssueRecoveryLinkInput,
        response: { 201: RecoveryLinkView, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await issueRecoveryLink(request.ctx, request.params.orgId, request.body)),
  );
  app.delete(
    '/orgs/:orgId/sso/recovery-links/:linkId',
    {
      schema: {
        operationId: 'revokeSsoRecoveryLink',
        tags,
        summary: 'Revoke a recovery link that was not used yet',
        params: Type.Object({ orgId: Type.String({ maxLength: 64 }), linkId: Type.String({ maxLength: 64 }) }),
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await revokeRecoveryLink(request.ctx, request.params.orgId, request.params.linkId);
      return reply.status(204).send();
    },
  );

  const authTags = ['Authentication'];
  app.post(
    '/sso/recovery',
    {
      schema: {
        operationId: 'redeemSsoRecoveryLink',
        tags: authTags,
        summary: 'Sign in with a recovery link a primary owner issued: one short session, flagged in the audit log',
        security: [],
        body: RedeemRecoveryInput,
        response: {
          200: Type.Object({
            user: Type.Object({ id: Type.String(), email: Type.String() }),
            orgId: Type.String(),
            csrfToken: Type.String(),
            expiresAt: Type.String(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { session, user, orgId } = await redeemRecoveryLink(request.ctx, request.body);
      setSessionCookie(request, reply, session);
      return {
        user: { id: user.id, email: user.email },
        orgId,
        csrfToken: session.csrfToken,
        expiresAt: session.expiresAt,
      };
    },
  );
  app.get(
    '/me/totp',
    {
      schema: {
        tags: authTags,
        operationId: 'getTotpEnrollment',
        summary: 'Whether you have an authenticator app enrolled (break-glass second factor)',
        response: { 200: ref(TotpEnrollmentView), ...errorResponses },
      },
    },
    async (request) => totpStatus(request.ctx),
  );
  app.post(
    '/me/totp',
    {
      schema: {
        tags: authTags,
        operationId: 'startTotpEnrollment',
        summary: 'Start enrolling an authenticator app: the secret is shown this once',
        response: { 201: Type.Object({ secret: Type.String(), otpauthUri: Type.String() }), ...errorResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await startTotpEnrollment(request.ctx)),
  );
  app.post(
    '/me/totp/confirm',
    {
      schema: {
        tags: authTags,
        operationId: 'confirmTotpEnrollment',
        summary: 'Confirm enrollment with a current code',
        body: TotpCodeInput,
        response: { 200: ref(TotpEnrollmentView), ...errorResponses },
      },
    },
    async (request) => confirmTotp(request.ctx, request.body),
  );
  app.delete(
    '/me/totp',
    {
      schema: {
        tags: authTags,
        operationId: 'removeTotpEnrollment',
        summary: 'Remove your authenticator app',
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await removeTotp(request.ctx);
      return reply.status(204).send();
    },
  );
  app.post(
    '/auth/break-glass',
    {
      schema: {
        tags: authTags,
        operationId: 'breakGlassLogin',
        summary:
          'Primary owners: sign in with password + authenticator code while SSO is enforced or broken (audited and flagged)',
        body: BreakGlassInput,
        response: { 200: ref(SignInView), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { session, user } = await breakGlassLogin(request.ctx, request.body);
      setSessionCookie(request, reply, session);
      return { user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
    },
  );
}

async function ssoFlowRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  // SAML responses arrive as an HTML form post; only these routes accept that encoding.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 512 * 1024 },
    (_req, body, done) => {
      done(null, parseQuery(body as string));
    },
  );

  // Person-facing protocol routes: errors are pages with a reference, never JSON.
  app.get(
    '/:connectionId/start',
    {
      schema: {
        tags,
        operationId: 'startSsoLogin',
        summary: 'Start signing in through a connection (add ?test=1 as an admin for a test login)',
        params: PublicConnParams,
        querystring: Type.Object({ test: Type.Optional(Type.String({ maxLength: 5 })) }),
        response: {
          302: redirect("To the identity provider's sign-in."),
        },
      },
    },
    async (request, reply) => {
      try {
        const binding = request.cookies[BINDING_COOKIE] ?? randomBytes(32).toString('base64url');
        const { redirect } = await startLogin(
          request.ctx,
          request.params.connectionId,
          request.query.test === '1' || request.query.test === 'true',
          binding,
        );
        const https = request.protocol === 'https' || request.ctx.config.publicUrl.startsWith('https://');
        // SAML answers arrive as a cross-site POST, which only carries a SameSite=None (hence Secure) cookie.
        reply.setCookie(BINDING_COOKIE, binding, {
          path: '/sso',
          httpOnly: true,
          secure: https,
          sameSite: https ? 'none' : 'lax',
          maxAge: 600,
        });
        return reply.redirect(redirect, 302);
      } catch (err) {
        if (!(err instanceof SsoFailure)) throw err;
        const conn = await connectionById(request.ctx, request.params.connectionId);
        return failurePage(
          reply,
          err.status,
          await reportFailure(
            request.ctx,
            { orgId: conn?.org_id ?? null, connectionId: conn?.id ?? null, protocol: conn?.protocol ?? 'unknown' },
            err,
          ),
        );
      }
    },
  );
  app.get(
    '/oidc/callback',
    { schema: { tags, operationId: 'completeOidcLogin', summary: 'OIDC redirect URI', response: signedInRedirect } },
    async (request, reply) => {
      const current = new URL(request.url, request.ctx.config.publicUrl);
      return finish(request, reply, await oidcCallback(request.ctx, current, request.cookies[BINDING_COOKIE]));
    },
  );
  app.post(
    '/saml/:connectionId/acs',
    {
      schema: {
        tags,
        operationId: 'completeSamlLogin',
        summary: 'SAML assertion consumer service (HTTP-POST binding)',
        params: PublicConnParams,
        response: signedInRedirect,
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const saml = typeof body.SAMLResponse === 'string' ? body.SAMLResponse : undefined;
      return finish(
        request,
        reply,
        await samlAcs(request.ctx, request.params.connectionId, saml, request.cookies[BINDING_COOKIE]),
      );
    },
  );
  app.get(
    '/oidc/:connectionId/jwks.json',
    {
      schema: {
        tags,
        operationId: 'getOidcClientJwks',
        summary: 'Public key of an OIDC connection, for providers that authenticate Palisade with private_key_jwt',
        params: PublicConnParams,
        response: {
          200: {
            description: "The connection's public signing key (JWK set).",
            content: { 'application/jwk-set+json': { schema: ref(OidcClientJwks) } },
          },
        },
      },
    },
    async (request, reply) => {
      const conn = await connectionById(request.ctx, request.params.connectionId);
      if (!conn || conn.protocol !== 'oidc' || conn.sp_certificate === null) throw notFound('OIDC connection');
      return reply
        .type('application/jwk-set+json')
        .header('cache-control', 'public, max-age=300')
        .send({ keys: [await publicJwk(conn.sp_certificate)] });
    },
  );
  app.get(
    '/saml/:connectionId/metadata',
    {
      schema: {
        tags,
        operationId: 'getSamlServiceProviderMetadata',
        summary: 'SAML service-provider metadata of a connection',
        params: PublicConnParams,
        response: {
          200: {
            description: 'Paste into the identity provider, or give it this URL.',
            content: {
              'application/samlmetadata+xml': {
                schema: Type.String({ description: 'The SAML 2.0 EntityDescriptor of the service provider.' }),
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const conn = await connectionById(request.ctx, request.params.connectionId);
      if (!conn || conn.protocol !== 'saml') throw notFound('SAML connection');
      return reply.type('application/samlmetadata+xml').send(spMetadataXml(request.ctx, conn));
    },
  );
}
