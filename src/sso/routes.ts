import { setSessionCookie } from '../http/session-cookie.js';
import { randomBytes } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../errors.js';
import { OrgParams, errorResponses, noContent } from '../http/schemas.js';
import { ConnectionView, CreateConnectionInput, UpdateConnectionInput, createConnection, deleteConnection, getConnection, listConnections } from './connections.js';
import { type FailureReport, SsoFailure, reportFailure } from './diagnosis.js';
import { EnforceInput, ImpactInput, connectionChangeImpact, enforceSso, getEnforcement, stopEnforcingSso, updateConnection } from './enforcement.js';
import { type FlowResult, oidcCallback, samlAcs } from './flow.js';
import { connectionById, startLogin } from './login.js';
import { PRESETS } from './presets.js';
import { publicJwk } from './oidc-client.js';
import { spMetadataXml } from './saml.js';
import { SimulateInput, simulateLogin } from './simulate.js';
import { BreakGlassInput, TotpCodeInput, breakGlassLogin, confirmTotp, removeTotp, startTotpEnrollment, totpStatus } from './totp.js';

const tags = ['Single sign-on'];
/** Ties a sign-in to the browser that started it. */
const BINDING_COOKIE = 'palisade_sso';
const ConnParams = Type.Object({ orgId: Type.String({ maxLength: 64 }), connectionId: Type.String({ maxLength: 64 }) });
const PublicConnParams = Type.Object({ connectionId: Type.String({ maxLength: 64 }) });


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
  return reply.redirect(result.purpose === 'test' ? `/?sso_test=ok&org=${encodeURIComponent(result.orgId)}` : '/', 303);
}

export async function ssoRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  // SAML responses arrive as an HTML form post; only this plugin's routes accept that encoding.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 512 * 1024 }, (_req, body, done) => {
    done(null, parseQuery(body as string));
  });

  app.get('/api/v1/sso/presets', { schema: { tags, summary: 'Identity-provider presets: claim/attribute names and what to configure there' } }, async () => ({ data: Object.values(PRESETS) }));

  app.get('/api/v1/orgs/:orgId/sso/connections', { schema: { tags, summary: 'List SSO connections', params: OrgParams, response: { 200: Type.Object({ data: Type.Array(ConnectionView) }), ...errorResponses } } }, async (request) =>
    listConnections(request.ctx, request.params.orgId),
  );
  app.post(
    '/api/v1/orgs/:orgId/sso/connections',
    { schema: { tags, summary: 'Create a SAML or OIDC connection (secrets are never returned)', params: OrgParams, body: CreateConnectionInput, response: { 201: ConnectionView, ...errorResponses } } },
    async (request, reply) => reply.status(201).send(await createConnection(request.ctx, request.params.orgId, request.body)),
  );
  app.get('/api/v1/orgs/:orgId/sso/connections/:connectionId', { schema: { tags, summary: 'Read an SSO connection', params: ConnParams, response: { 200: ConnectionView, ...errorResponses } } }, async (request) =>
    getConnection(request.ctx, request.params.orgId, request.params.connectionId),
  );
  app.patch(
    '/api/v1/orgs/:orgId/sso/connections/:connectionId',
    { schema: { tags, summary: 'Change a connection (an enforced one is simulated against recent logins first)', params: ConnParams, body: UpdateConnectionInput, response: errorResponses } },
    async (request) => updateConnection(request.ctx, request.params.orgId, request.params.connectionId, request.body),
  );
  app.post(
    '/api/v1/orgs/:orgId/sso/connections/:connectionId/simulate',
    { schema: { tags, summary: 'Dry run: the user, role and organization a login with these claims (or this SAML response) would produce, and why', params: ConnParams, body: SimulateInput, response: errorResponses } },
    async (request) => simulateLogin(request.ctx, request.params.orgId, request.params.connectionId, request.body),
  );
  app.post(
    '/api/v1/orgs/:orgId/sso/connections/:connectionId/impact',
    { schema: { tags, summary: 'Before a change to this connection or to the group-to-role mapping: who of the recent sign-ins would fail or lose their role', params: ConnParams, body: ImpactInput, response: errorResponses } },
    async (request) => connectionChangeImpact(request.ctx, request.params.orgId, request.params.connectionId, request.body),
  );
  app.get('/api/v1/orgs/:orgId/sso/enforcement', { schema: { tags, summary: 'Whether members must sign in with SSO', params: OrgParams, response: errorResponses } }, async (request) =>
    getEnforcement(request.ctx, request.params.orgId),
  );
  app.put(
    '/api/v1/orgs/:orgId/sso/enforcement',
    { schema: { tags, summary: 'Require SSO for members (needs a recent admin test login and a break-glass owner)', params: OrgParams, body: EnforceInput, response: errorResponses } },
    async (request) => enforceSso(request.ctx, request.params.orgId, request.body),
  );
  app.delete('/api/v1/orgs/:orgId/sso/enforcement', { schema: { tags, summary: 'Stop requiring SSO', params: OrgParams, response: errorResponses } }, async (request) =>
    stopEnforcingSso(request.ctx, request.params.orgId),
  );
  app.delete('/api/v1/orgs/:orgId/sso/connections/:connectionId', { schema: { tags, summary: 'Delete an SSO connection', params: ConnParams, response: { ...noContent, ...errorResponses } } }, async (request, reply) => {
    await deleteConnection(request.ctx, request.params.orgId, request.params.connectionId);
    return reply.status(204).send();
  });

  const authTags = ['Authentication'];
  app.get('/api/v1/me/totp', { schema: { tags: authTags, summary: 'Whether you have an authenticator app enrolled (break-glass second factor)', response: errorResponses } }, async (request) => totpStatus(request.ctx));
  app.post('/api/v1/me/totp', { schema: { tags: authTags, summary: 'Start enrolling an authenticator app: the secret is shown this once', response: { 201: Type.Object({ secret: Type.String(), otpauthUri: Type.String() }), ...errorResponses } } }, async (request, reply) =>
    reply.status(201).send(await startTotpEnrollment(request.ctx)),
  );
  app.post('/api/v1/me/totp/confirm', { schema: { tags: authTags, summary: 'Confirm enrollment with a current code', body: TotpCodeInput, response: errorResponses } }, async (request) => confirmTotp(request.ctx, request.body));
  app.delete('/api/v1/me/totp', { schema: { tags: authTags, summary: 'Remove your authenticator app', response: { ...noContent, ...errorResponses } } }, async (request, reply) => {
    await removeTotp(request.ctx);
    return reply.status(204).send();
  });
  app.post('/api/v1/auth/break-glass', { schema: { tags: authTags, summary: 'Primary owners: sign in with password + authenticator code while SSO is enforced or broken (audited and flagged)', body: BreakGlassInput, response: errorResponses } }, async (request, reply) => {
    const { session, user } = await breakGlassLogin(request.ctx, request.body);
    setSessionCookie(request, reply, session);
    return { user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
  });

  // Person-facing protocol routes: errors are pages with a reference, never JSON.
  app.get(
    '/sso/:connectionId/start',
    { schema: { tags, summary: 'Start signing in through a connection (add ?test=1 as an admin for a test login)', params: PublicConnParams, querystring: Type.Object({ test: Type.Optional(Type.String({ maxLength: 5 })) }) } },
    async (request, reply) => {
      try {
        const binding = request.cookies[BINDING_COOKIE] ?? randomBytes(32).toString('base64url');
        const { redirect } = await startLogin(request.ctx, request.params.connectionId, request.query.test === '1' || request.query.test === 'true', binding);
        const https = request.protocol === 'https' || request.ctx.config.publicUrl.startsWith('https://');
        // SAML answers arrive as a cross-site POST, which only carries a SameSite=None (hence Secure) cookie.
        reply.setCookie(BINDING_COOKIE, binding, { path: '/sso', httpOnly: true, secure: https, sameSite: https ? 'none' : 'lax', maxAge: 600 });
        return reply.redirect(redirect, 302);
      } catch (err) {
        if (!(err instanceof SsoFailure)) throw err;
        const conn = await connectionById(request.ctx, request.params.connectionId);
        return failurePage(reply, err.status, await reportFailure(request.ctx, { orgId: conn?.org_id ?? null, connectionId: conn?.id ?? null, protocol: conn?.protocol ?? 'unknown' }, err));
      }
    },
  );
  app.get('/sso/oidc/callback', { schema: { tags, summary: 'OIDC redirect URI' } }, async (request, reply) => {
    const current = new URL(request.url, request.ctx.config.publicUrl);
    return finish(request, reply, await oidcCallback(request.ctx, current, request.cookies[BINDING_COOKIE]));
  });
  app.post('/sso/saml/:connectionId/acs', { schema: { tags, summary: 'SAML assertion consumer service (HTTP-POST binding)', params: PublicConnParams } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const saml = typeof body.SAMLResponse === 'string' ? body.SAMLResponse : undefined;
    return finish(request, reply, await samlAcs(request.ctx, request.params.connectionId, saml, request.cookies[BINDING_COOKIE]));
  });
  app.get('/sso/oidc/:connectionId/jwks.json', { schema: { tags, summary: 'Public key of an OIDC connection, for providers that authenticate Palisade with private_key_jwt', params: PublicConnParams } }, async (request, reply) => {
    const conn = await connectionById(request.ctx, request.params.connectionId);
    if (!conn || conn.protocol !== 'oidc' || conn.sp_certificate === null) throw notFound('OIDC connection');
    return reply.type('application/jwk-set+json').header('cache-control', 'public, max-age=300').send({ keys: [await publicJwk(conn.sp_certificate)] });
  });
  app.get('/sso/saml/:connectionId/metadata', { schema: { tags, summary: 'SAML service-provider metadata of a connection', params: PublicConnParams } }, async (request, reply) => {
    const conn = await connectionById(request.ctx, request.params.connectionId);
    if (!conn || conn.protocol !== 'saml') throw notFound('SAML connection');
    return reply.type('application/samlmetadata+xml').send(spMetadataXml(request.ctx, conn));
  });
}
