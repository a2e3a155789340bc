import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { Ctx } from '../context.js';
import type { ConnectionRow } from '../sso/connections.js';
import { oidcRedirectUri } from '../sso/connections.js';
import { oidcClientSecret } from '../sso/secrets.js';
import { TEST_IDP_PRESET, testIdpOidcIssuer } from '../sso/test-idp-policy.js';
import type { TestIdentity } from './form.js';
import { testIdpKey } from './keys.js';

/**
 * The test IdP's OpenID Connect side, just enough for Palisade's own relying party
 * (src/sso/oidc.ts, openid-client) and kept strict: clients are the organization's test-IdP
 * connections (client id and sealed secret on the connection); the redirect URI must be Palisade's
 * callback; codes are random, stored hashed, single use, valid 60 seconds and bound to the client,
 * the redirect URI and the PKCE challenge (S256 only); ID tokens are RS256 with iss, aud, exp, iat,
 * nonce; access tokens are short JWTs the userinfo endpoint verifies.
 */
const CODE_TTL_MS = 60_000;
const TOKEN_TTL_S = 300;
const USERINFO_AUDIENCE = 'palisade-test-idp-userinfo';

/** An OAuth error as RFC 6749 §5.2 shapes it: openid-client reads `error`, Palisade diagnoses it. */
export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
  }
}

export function discovery(ctx: Pick<Ctx, 'config'>) {
  const issuer = testIdpOidcIssuer(ctx.config);
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'email', 'profile'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    claims_supported: ['sub', 'email', 'email_verified', 'name', 'given_name', 'family_name', 'groups'],
  };
}

export async function clientById(ctx: Pick<Ctx, 'db'>, clientId: string): Promise<ConnectionRow | undefined> {
  if (!clientId) return undefined;
  return ctx.db
    .selectFrom('sso_connections')
    .selectAll()
    .where('preset', '=', TEST_IDP_PRESET)
    .where('protocol', '=', 'oidc')
    .where('oidc_client_id', '=', clientId)
    .executeTakeFirst();
}

export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  state: string;
  nonce: string | null;
  codeChallenge: string | null;
}

/** Checks an authorization request before the form is shown; a bad client or redirect URI is never redirected to. */
export async function checkAuthorize(ctx: Ctx, q: Record<string, string | undefined>): Promise<AuthorizeRequest> {
  const client = await clientById(ctx, q.client_id ?? '');
  if (!client)
    throw new OAuthError('invalid_client', 'Unknown client_id: it must be a connection to the test identity provider.');
  if (q.redirect_uri !== oidcRedirectUri(ctx))
    throw new OAuthError('invalid_request', "redirect_uri must be Palisade's OIDC callback URL.");
  if (q.response_type !== 'code')
    throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported.');
  if (!(q.scope ?? '').split(' ').includes('openid'))
    throw new OAuthError('invalid_scope', 'The scope must include openid.');
  if (q.code_challenge !== undefined && q.code_challenge_method !== 'S256')
    throw new OAuthError('invalid_request', 'Only the S256 PKCE method is supported.');
  if (q.code_challenge !== undefined && !/^[A-Za-z0-9_-]{43,128}$/.test(q.code_challenge))
    throw new OAuthError('invalid_request', 'code_challenge is malformed.');
  return {
    clientId: client.oidc_client_id ?? '',
    redirectUri: q.redirect_uri,
    state: (q.state ?? '').slice(0, 500),
    nonce: q.nonce ? q.nonce.slice(0, 500) : null,
    codeChallenge: q.code_challenge ?? null,
  };
}

const hash = (code: string) => createHash('sha256').update(code).digest('base64url');

/** Issues a code for what the person typed; the caller redirects to the redirect URI with it. */
export async function issueCode(ctx: Ctx, req: AuthorizeRequest, identity: TestIdentity): Promise<string> {
  const client = await clientById(ctx, req.clientId);
  if (!client) throw new OAuthError('invalid_client', 'Unknown client_id.');
  const now = ctx.clock.now();
  const code = randomBytes(32).toString('base64url');
  await ctx.db.deleteFrom('test_idp_codes').where('expires_at', '<', now.toISOString()).execute();
  await ctx.db
    .insertInto('test_idp_codes')
    .values({
      code_hash: hash(code),
      connection_id: client.id,
      redirect_uri: req.redirectUri,
      code_challenge: req.codeChallenge,
      nonce: req.nonce,
      claims: JSON.stringify(identity),
      expires_at: new Date(now.getTime() + CODE_TTL_MS).toISOString(),
      created_at: now.toISOString(),
    })
    .execute();
  return code;
}

const sameSecret = (a: string, b: string) => {
  const ab = createHash('sha256').update(a).digest();
  const bb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ab, bb) && a.length > 0;
};

/** The client's credentials, from HTTP Basic (RFC 6749 §2.3.1, form-encoded parts) or the body. */
function clientCredentials(authorization: string | undefined, body: Record<string, string | undefined>) {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (m) {
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw new OAuthError('invalid_client', 'Malformed Basic credentials.', 401);
    return {
      id: decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' ')),
    };
  }
  return { id: body.client_id ?? '', secret: body.client_secret ?? '' };
}

/** The token endpoint: code → ID token and access token. */
export async function exchangeCode(
  ctx: Ctx,
  authorization: string | undefined,
  body: Record<string, string | undefined>,
) {
  if (body.grant_type !== 'authorization_code')
    throw new OAuthError('unsupported_grant_type', 'Only the authorization_code grant is supported.');
  const creds = clientCredentials(authorization, body);
  const client = await clientById(ctx, creds.id);
  if (!client || !sameSecret(creds.secret, await oidcClientSecret(ctx.db, ctx.config, client)))
    throw new OAuthError('invalid_client', 'Client authentication failed.', 401);
  const code = body.code ?? '';
  // Single use: the row is deleted by whoever presents the code first, valid or not.
  const row = await ctx.db
    .deleteFrom('test_idp_codes')
    .where('code_hash', '=', hash(code))
    .returningAll()
    .executeTakeFirst();
  const now = ctx.clock.now();
  if (!row || row.expires_at <= now.toISOString())
    throw new OAuthError('invalid_grant', 'The authorization code is unknown, expired or already used.');
  if (row.connection_id !== client.id)
    throw new OAuthError('invalid_grant', 'The authorization code was issued to another client.');
  if (body.redirect_uri !== row.redirect_uri)
    throw new OAuthError('invalid_grant', 'redirect_uri differs from the one of the authorization request.');
  if (row.code_challenge !== null) {
    const verifier = body.code_verifier ?? '';
    if (
      !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) ||
      createHash('sha256').update(verifier).digest('base64url') !== row.code_challenge
    )
      throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge.');
  } else if (body.code_verifier !== undefined) {
    throw new OAuthError('invalid_grant', 'code_verifier sent for an authorization request without a code_challenge.');
  }
  const identity = JSON.parse(row.claims) as TestIdentity;
  const key = await testIdpKey(ctx.db, ctx.config, ctx.clock);
  const issuer = testIdpOidcIssuer(ctx.config);
  const iat = Math.floor(now.getTime() / 1000);
  const sub = subjectOf(identity.email);
  const claims = userClaims(identity);
  const idToken = await new SignJWT({ ...claims, ...(row.nonce !== null ? { nonce: row.nonce } : {}) })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(sub)
    .setAudience(client.oidc_client_id ?? '')
    .setIssuedAt(iat)
    .setExpirationTime(iat + TOKEN_TTL_S)
    .sign(key.signingKey);
  const accessToken = await new SignJWT({ ...claims, client_id: client.oidc_client_id })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(issuer)
    .setSubject(sub)
    .setAudience(USERINFO_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + TOKEN_TTL_S)
    .sign(key.signingKey);
  return {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: TOKEN_TTL_S,
    id_token: idToken,
    scope: 'openid email profile',
  };
}

/** The same address is the same subject, so Palisade links the account by it like with any IdP. */
export const subjectOf = (email: string) =>
  `test-${createHash('sha256').update(email.toLowerCase()).digest('base64url').slice(0, 32)}`;

function userClaims(identity: TestIdentity) {
  const name = [identity.firstName, identity.lastName].filter(Boolean).join(' ');
  return {
    email: identity.email,
    email_verified: true,
    ...(name ? { name } : {}),
    ...(identity.firstName ? { given_name: identity.firstName } : {}),
    ...(identity.lastName ? { family_name: identity.lastName } : {}),
    groups: identity.groups,
  };
}

export async function userinfo(ctx: Ctx, authorization: string | undefined) {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) throw new OAuthError('invalid_token', 'Send the access token as a Bearer token.', 401);
  const key = await testIdpKey(ctx.db, ctx.config, ctx.clock);
  try {
    const { payload } = await jwtVerify(m[1] as string, key.publicKey, {
      issuer: testIdpOidcIssuer(ctx.config),
      audience: USERINFO_AUDIENCE,
      algorithms: ['RS256'],
      currentDate: ctx.clock.now(),
    });
    const { iss: _i, aud: _a, iat: _t, exp: _e, client_id: _c, ...claims } = payload;
    return claims;
  } catch {
    throw new OAuthError('invalid_token', 'The access token is invalid or expired.', 401);
  }
}
