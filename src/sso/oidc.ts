import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { PalisadeConfig } from '../config.js';
import type { Ctx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { DENIED_CODE, outboundFetch } from '../net/outbound.js';
import { oidcRedirectUri, claimNames, type ConnectionRow } from './connections.js';
import { SsoFailure, fail } from './diagnosis.js';
import { type Identity, identityFrom } from './provision.js';
import { oidcClientSecret } from './secrets.js';
import { assertSameBrowser, consumeLoginState, saveLoginState, stateKey } from './store.js';

/**
 * OIDC relying party on openid-client: discovery, authorization code with PKCE, state and nonce
 * kept server-side (single use, expiring), ID token validated by the library, including its
 * signature against the IdP's JWKS (refetched by the library when the IdP rotates keys).
 * Every request the library makes (discovery, JWKS, token, userinfo: URLs an admin's issuer or
 * its discovery document chose) goes through the outbound policy (src/net/outbound.ts).
 */
const configs = new Map<string, { version: string; config: Promise<client.Configuration> }>();

/**
 * The connection's client secret, opened from its sealed column on every sign-in (so a shredded or
 * tampered secret stops sign-in at once, whatever is cached): an SsoFailure when it cannot be used.
 */
const clientSecretOf = (ctx: Ctx, conn: ConnectionRow) => oidcClientSecret(ctx.db, ctx.config, conn);

function configFor(conn: ConnectionRow, clientSecret: string, palisade: PalisadeConfig): Promise<client.Configuration> {
  const version = `${conn.updated_at}|${conn.oidc_issuer}|${conn.oidc_client_id}|${createHash('sha256').update(clientSecret).digest('base64url')}`;
  const cached = configs.get(conn.id);
  if (cached && cached.version === version) return cached.config;
  const issuer = new URL(conn.oidc_issuer ?? '');
  const config = client
    .discovery(issuer, conn.oidc_client_id ?? '', clientSecret, undefined, {
      [client.customFetch]: outboundFetch(palisade),
      ...(issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
    })
    .then((c) => {
      client.enableNonRepudiationChecks(c);
      return c;
    });
  config.catch(() => configs.delete(conn.id));
  configs.set(conn.id, { version, config });
  return config;
}

export async function startOidc(ctx: Ctx, conn: ConnectionRow, purpose: 'login' | 'test', initiatedBy: string | null, binding: string): Promise<string> {
  const clientSecret = await clientSecretOf(ctx, conn);
  let config: client.Configuration;
  try {
    config = await configFor(conn, clientSecret, ctx.config);
  } catch (err) {
    const denied = outboundDenial(err);
    if (denied) throw denied;
    throw fail('oidc_discovery_failed', 'Palisade could not reach your identity provider.', 'OIDC discovery', { expected: `${conn.oidc_issuer}/.well-known/openid-configuration`, detail: errText(err) }, 502);
  }
  const state = client.randomState();
  const nonce = client.randomNonce();
  const verifier = client.randomPKCECodeVerifier();
  await saveLoginState(ctx.db, ctx, { id: stateKey(state), connection_id: conn.id, org_id: conn.org_id, purpose, nonce, code_verifier: verifier, initiated_by: initiatedBy, browser_binding: stateKey(binding) });
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: oidcRedirectUri(ctx),
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  return url.href;
}

/** The state names the connection, so a callback needs no connection id in its URL. */
export async function peekOidcState(ctx: Ctx, state: string | undefined) {
  if (!state) return undefined;
  return ctx.db.selectFrom('sso_login_states').select(['connection_id', 'org_id']).where('id', '=', stateKey(state)).executeTakeFirst();
}

export async function finishOidc(ctx: Ctx, conn: ConnectionRow, currentUrl: URL, binding?: string): Promise<{ identity: Identity; raw: Record<string, unknown>; purpose: 'login' | 'test'; initiatedBy: string | null }> {
  const error = currentUrl.searchParams.get('error');
  if (error) throw fail('oidc_idp_error', 'Your identity provider did not sign you in.', 'authorization response', { received: { error, description: currentUrl.searchParams.get('error_description') } });
  const state = currentUrl.searchParams.get('state') ?? '';
  const row = await consumeLoginState(ctx.db, ctx, stateKey(state), 'state');
  if (row.connection_id !== conn.id) throw fail('sso_state_unknown', 'This sign-in response does not match the sign-in Palisade started.', 'state belongs to connection', { expected: conn.id, received: row.connection_id });
  const config = await configFor(conn, await clientSecretOf(ctx, conn), ctx.config);
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: row.code_verifier ?? '', expectedState: state, expectedNonce: row.nonce ?? '', idTokenExpected: true });
  } catch (err) {
    throw diagnoseOidc(err, row.nonce);
  }
  // Checked after the IdP's answer is validated, so an attack on the answer is diagnosed as such.
  assertSameBrowser(row, binding);
  const claims = tokens.claims();
  if (!claims) throw fail('oidc_id_token_missing', 'Your identity provider did not return an ID token.', 'id_token present');
  let raw: Record<string, unknown> = { ...claims };
  // Many IdPs put email and groups only in userinfo for the code flow.
  if (tokens.access_token) {
    try {
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      raw = { ...info, ...claims };
    } catch (err) {
      throw diagnoseOidc(err, row.nonce);
    }
  }
  if (raw.email_verified === false || raw.email_verified === 'false') {
    throw fail('oidc_email_unverified', 'Your identity provider has not verified your email address.', 'email_verified is not false', { expected: true, received: false });
  }
  return { identity: identityFrom(raw, claimNames(conn), `${claims.iss}|${claims.sub}`), raw, purpose: row.purpose, initiatedBy: row.initiated_by };
}

/** A request the outbound policy refused (the issuer, or an endpoint its discovery document names, is in a denied range). */
function outboundDenial(err: unknown): SsoFailure | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof PalisadeError && e.code === DENIED_CODE) {
      return fail(DENIED_CODE, 'Palisade could not reach your identity provider.', 'outbound connection policy', { detail: e.message.slice(0, 500), received: e.details?.address }, 502);
    }
  }
  return undefined;
}

const errText = (err: unknown) => {
  const inner = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return (inner instanceof Error ? `${(inner as { code?: string }).code ?? inner.name}: ${inner.message}` : String(inner)).slice(0, 300);
};

/** Turns openid-client's error into a specific diagnosis: which check failed, expected vs received. */
export function diagnoseOidc(err: unknown, expectedNonce: string | null): SsoFailure {
  if (err instanceof SsoFailure) return err;
  const denied = outboundDenial(err);
  if (denied) return denied;
  // openid-client wraps oauth4webapi's error: the inner one names the check, its cause holds expected/received.
  type Wrapped = { message?: string; code?: string; cause?: unknown };
  let e = err as Wrapped;
  if (e.cause instanceof Error) e = e.cause as Wrapped;
  const message = e.message ?? '';
  const cause = (e.cause && typeof e.cause === 'object' ? e.cause : {}) as Record<string, unknown>;
  const plain = 'Your identity provider\'s answer failed Palisade\'s security checks, so you were not signed in.';
  if (/"nonce"/.test(message)) {
    const claims = cause.claims as Record<string, unknown> | undefined;
    return fail('oidc_nonce_mismatch', plain, 'ID token nonce equals the nonce of this sign-in', { expected: expectedNonce ? `${expectedNonce.slice(0, 6)}…` : null, received: typeof claims?.nonce === 'string' ? `${claims.nonce.slice(0, 6)}…` : claims?.nonce ?? null });
  }
  if (/"alg"/.test(message) || /alg/i.test(String(cause.header ? JSON.stringify(cause.header) : ''))) {
    return fail('oidc_id_token_bad_alg', plain, 'ID token signed with an accepted algorithm', { expected: 'RS256/ES256/… (signed)', received: (cause.header as { alg?: string } | undefined)?.alg ?? message.slice(0, 200), detail: errText(err) });
  }
  if (/signature/i.test(message)) return fail('oidc_id_token_bad_signature', plain, 'ID token signature verifies against the IdP JWKS', { detail: errText(err) });
  if (/"iss"|issuer/i.test(message)) return fail('oidc_wrong_issuer', plain, 'ID token issuer', { expected: cause.expected, received: (cause.claims as Record<string, unknown> | undefined)?.iss ?? cause.received, detail: errText(err) });
  if (/"aud"|audience/i.test(message)) return fail('oidc_wrong_audience', plain, 'ID token audience', { expected: cause.expected, detail: errText(err) });
  if (/"exp"|expired|"iat"|"nbf"/i.test(message)) return fail('oidc_id_token_expired', plain, 'ID token time claims', { detail: errText(err) });
  if (/state/i.test(message)) return fail('oidc_state_mismatch', plain, 'state parameter', { detail: errText(err) });
  if (/invalid_grant|code/i.test(message)) return fail('oidc_code_rejected', 'Your identity provider refused to complete the sign-in.', 'code exchange', { detail: errText(err) });
  return fail('oidc_validation_failed', plain, 'OIDC response validation', { detail: errText(err) });
}
