import type { FastifyReply, FastifyRequest } from 'fastify';
import { resolveApiToken } from './api-tokens.js';
import { constantTimeEqual, csrfTokenFor, secretKind } from './secrets.js';
import { resolveSession } from './sessions.js';
import { recordBadToken } from './bad-credentials.js';
import type { Clock } from '../clock.js';
import type { PalisadeConfig } from '../config.js';
import type { Caller, Ctx } from '../context.js';
import type { Db } from '../db/schema.js';
import { CSRF_HEADER, SESSION_COOKIE } from './session-cookie.js';
import { endSessionIfSsoRequired } from './sso-policy.js';
import { PalisadeError, unauthenticated } from '../errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The SAML POST binding is a cross-site form post from the IdP, authenticated by the signed response itself. */
const CSRF_EXEMPT = /^\/sso\/saml\/[^/?]+\/acs(\?|$)/;

declare module 'fastify' {
  interface FastifyRequest {
    ctx: Ctx;
    /** Raw session secret from the cookie, when the caller came in with one. */
    sessionSecret?: string;
  }
}

/**
 * A cookie-authenticated change must come from Palisade's own pages: when the browser says where
 * the request comes from (`Origin`), it must be Palisade's public URL or the origin the request
 * was addressed to. CSRF tokens already stop forged requests; this stops them earlier and also
 * covers a leaked CSRF token. Requests without `Origin` (older browsers, same-origin GETs) rely on
 * the CSRF token alone.
 */
export function assertSameOrigin(request: FastifyRequest, config: PalisadeConfig): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const allowed = new Set<string>();
  try {
    allowed.add(new URL(config.publicUrl).origin);
  } catch {
    /* publicUrl is validated at start-up */
  }
  allowed.add(`${request.protocol}://${request.host}`);
  if (!allowed.has(origin)) {
    throw new PalisadeError(
      403,
      'origin_not_allowed',
      `This change came from ${origin.slice(0, 100)}, not from Palisade's own pages (${config.publicUrl}). Make the change from Palisade, or with an API token. If Palisade is served at another address, set PALISADE_PUBLIC_URL to it.`,
    );
  }
}

/**
 * The caller a session cookie's secret stands for, or undefined: unknown, expired, revoked, suspended,
 * or a password/link session that SSO enforcement ends now. The one session lookup of cookie
 * callers: every request's (below) and the built-in test IdP's, which identifies its admin itself
 * (src/test-idp/admin-gate.ts). It checks no CSRF token: each caller protects its own changes.
 */
export async function sessionCaller(
  ctx: Pick<Ctx, 'db' | 'clock' | 'meta'>,
  secret: string,
): Promise<(Caller & { kind: 'user' }) | undefined> {
  const found = await resolveSession(ctx.db, ctx.clock.now(), secret);
  if (!found || (await endSessionIfSsoRequired(ctx, found))) return undefined;
  return {
    kind: 'user',
    userId: found.user.id,
    email: found.user.email,
    via: 'session',
    credentialId: found.sessionId,
  };
}

/**
 * Identifies the caller of every request: a bearer token wins over a cookie; a bearer token that
 * is present but not valid is refused outright rather than treated as anonymous.
 */
export function identifyCaller(deps: { db: Db; clock: Clock; config: PalisadeConfig }) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const meta = {
      requestId: request.id,
      ip: request.ip ?? null,
      userAgent: (request.headers['user-agent'] ?? '').slice(0, 512) || null,
    };
    let caller: Caller = { kind: 'anonymous' };
    // SCIM endpoints authenticate with their directory's own token and answer in SCIM's error shape;
    // the Compliance API with its compliance keys (src/compliance/routes.ts); GitHub webhooks with
    // the delivery's signature.
    if (
      request.url.startsWith('/scim/') ||
      request.url.startsWith('/v1/compliance/') ||
      request.url.startsWith('/github/webhooks/') ||
      // The built-in test IdP is another party: it answers Palisade's SP and RP, not the API; its sign-in
      // form identifies the admin with the same session lookup (sessionCaller), with its own form token.
      request.url.startsWith('/test-idp/')
    ) {
      request.ctx = { db: deps.db, clock: deps.clock, config: deps.config, caller, meta };
      return;
    }
    const auth = request.headers.authorization;
    const now = deps.clock.now();
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (!m)
        throw unauthenticated('invalid_authorization_header', 'Send the token as "Authorization: Bearer pls_pat_…".');
      if ((m[1] as string).startsWith('pls_gwk_')) {
        // Gateway keys work only on the model gateway, which resolves them itself; elsewhere the caller stays anonymous.
        request.ctx = { db: deps.db, clock: deps.clock, config: deps.config, caller, meta };
        return;
      }
      const found = await resolveApiToken(deps.db, now, m[1] as string, meta);
      if (!found) {
        await recordBadToken(deps.db, deps.clock, deps.config, meta.ip);
        throw unauthenticated(
          'invalid_token',
          'This API token is not valid: it may be mistyped, expired or revoked. Create a new one under your account.',
        );
      }
      caller = {
        kind: 'user',
        userId: found.user.id,
        email: found.user.email,
        via: 'api_token',
        credentialId: found.tokenId,
      };
    } else {
      const secret = request.cookies[SESSION_COOKIE];
      if (secret) {
        const found = await sessionCaller({ db: deps.db, clock: deps.clock, meta }, secret);
        if (found) {
          caller = found;
          request.sessionSecret = secret;
          if (!SAFE_METHODS.has(request.method) && !CSRF_EXEMPT.test(request.url)) {
            assertSameOrigin(request, deps.config);
            const sent = request.headers[CSRF_HEADER];
            if (typeof sent !== 'string' || !constantTimeEqual(sent, csrfTokenFor(secret))) {
              throw new PalisadeError(
                403,
                'csrf_token_invalid',
                `Browser requests that change something must send the ${CSRF_HEADER} header with the csrfToken from sign-in or GET /api/v1/auth/session.`,
              );
            }
          }
        }
      }
    }
    request.ctx = { db: deps.db, clock: deps.clock, config: deps.config, caller, meta };
  };
}
