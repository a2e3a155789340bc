import * as client from 'openid-client';
import type { Ctx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { DENIED_CODE } from '../net/outbound.js';
import { oidcRedirectUri, claimNames, type ConnectionRow } from './connections.js';
import { SsoFailure, fail } from './diagnosis.js';
import { type ClientCredentials, configFor, exchangeCode, providerError } from './oidc-client.js';
import { type Identity, identityFrom } from './provision.js';
import { oidcClientSecret, spPrivateKey } from './secrets.js';
import { assertSameBrowser, consumeLoginState, saveLoginState, stateKey } from './store.js';

/**
 * OIDC relying party on openid-client: discovery, authorization code with PKCE, state and nonce
 * kept server-side (single use, expiring), ID token validated by the library, including its
 * signature against the IdP's JWKS. How Palisade authenticates at the token endpoint, and how it
 * follows a provider's key rotation, is in ./oidc-client.ts. Every request the library makes
 * (discovery, JWKS, token, userinfo: URLs an admin's issuer or its discovery document chose) goes
 * through the outbound policy (src/net/outbound.ts).
 */

/**
 * The connection's client credentials, opened from their sealed columns on every sign-in (so a
 * shredded or tampered secret stops sign-in at once, whatever is cached): SsoFailures when they
 * cannot be used. The private key is opened only if private_key_jwt needs it.
 */
async function credentialsOf(ctx: Ctx, conn: ConnectionRow): Promise<ClientCredentials> {
  return {
    secret: await oidcClientSecret(ctx.db, ctx.config, conn),
    signingKey: async () => {
      const pem = await spPrivateKey(ctx.db, ctx.config, conn);
      return pem !== null && conn.sp_certificate !== null
        ? { privateKeyPem: pem, certificatePem: conn.sp_certificate }
        : null;
    },
  };
}

export async function startOidc(
  ctx: Ctx,
  conn: ConnectionRow,
  purpose: 'login' | 'test',
  initiatedBy: string | null,
  binding: string,
): Promise<string> {
  const creds = await credentialsOf(ctx, conn);
  let config: client.Configuration;
  try {
    config = await configFor(conn, creds, ctx.config, ctx.clock.now().getTime()).config;
  } catch (err) {
    if (err instanceof SsoFailure) throw err;
    const denied = outboundDenial(err);
    if (denied) throw denied;
    throw fail(
      'oidc_discovery_failed',
      'Palisade could not reach your identity provider.',
      'OIDC discovery',
      { expected: `${conn.oidc_issuer}/.well-known/openid-configuration`, detail: errText(err) },
      502,
    );
  }
  const state = client.randomState();
  const nonce = client.randomNonce();
  const verifier = client.randomPKCECodeVerifier();
  await saveLoginState(ctx.db, ctx, {
    id: stateKey(state),
    connection_id: conn.id,
    org_id: conn.org_id,
    purpose,
    nonce,
    code_verifier: verifier,
    initiated_by: initiatedBy,
    browser_binding: stateKey(binding),
  });
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
  return ctx.db
    .selectFrom('sso_login_states')
    .select(['connection_id', 'org_id'])
    .where('id', '=', stateKey(state))
    .executeTakeFirst();
}

export async function finishOidc(
  ctx: Ctx,
  conn: ConnectionRow,
  currentUrl: URL,
  binding?: string,
): Promise<{
  identity: Identity;
  raw: Record<string, unknown>;
  purpose: 'login' | 'test';
  initiatedBy: string | null;
}> {
  const error = currentUrl.searchParams.get('error');
  if (error) {
    const description = currentUrl.searchParams.get('error_description');
    throw fail('oidc_idp_error', 'Your identity provider did not sign you in.', 'authorization response', {
      received: { error: error.slice(0, 100), description: description?.slice(0, 300) ?? null },
      detail: `The provider answered the authorization request with "${error.slice(0, 100)}"${description ? `: ${description.slice(0, 300)}` : ''}.${PROVIDER_ERROR_HINTS[error] ? ` ${PROVIDER_ERROR_HINTS[error]}` : ''}`,
    });
  }
  const state = currentUrl.searchParams.get('state') ?? '';
  const row = await consumeLoginState(ctx.db, ctx, stateKey(state), 'state');
  if (row.connection_id !== conn.id)
    throw fail(
      'sso_state_unknown',
      'This sign-in response does not match the sign-in Palisade started.',
      'state belongs to connection',
      { expected: conn.id, received: row.connection_id },
    );
  const creds = await credentialsOf(ctx, conn);
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  let config: client.Configuration;
  let method: string;
  try {
    ({ tokens, config, method } = await exchangeCode(conn, creds, ctx.config, ctx.clock.now().getTime(), (c) =>
      client.authorizationCodeGrant(c, currentUrl, {
        pkceCodeVerifier: row.code_verifier ?? '',
        expectedState: state,
        expectedNonce: row.nonce ?? '',
        idTokenExpected: true,
      }),
    ));
  } catch (err) {
    const used = await configFor(conn, creds, ctx.config, ctx.clock.now().getTime()).method.catch(() => undefined);
    throw diagnoseOidc(err, row.nonce, conn, used);
  }
  // Checked after the IdP's answer is validated, so an attack on the answer is diagnosed as such.
  assertSameBrowser(row, binding);
  const claims = tokens.claims();
  if (!claims)
    throw fail('oidc_id_token_missing', 'Your identity provider did not return an ID token.', 'id_token present');
  let raw: Record<string, unknown> = { ...claims };
  // Many IdPs put email and groups only in userinfo for the code flow.
  if (tokens.access_token) {
    try {
      const info = await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck);
      // OIDC Core §5.3.2: the userinfo sub MUST equal the ID token's; a pairwise provider that
      // computes them differently (or a response meant for someone else) is refused by name.
      if (info.sub !== claims.sub) {
        throw fail(
          'oidc_subject_mismatch',
          "Your identity provider's answer failed Palisade's security checks, so you were not signed in.",
          'userinfo sub equals the ID token sub (OpenID Connect Core §5.3.2)',
          {
            expected: subjectHint(claims.sub),
            received: subjectHint(info.sub),
            detail:
              "The provider identified the person with one subject in the ID token and another in userinfo. With pairwise subject identifiers both must be computed for the same sector (the same client and redirect URI host); check the application's subject type and sector identifier at the provider.",
          },
        );
      }
      raw = { ...info, ...claims };
    } catch (err) {
      throw diagnoseOidc(err, row.nonce, conn, method);
    }
  }
  if (raw.email_verified === false || raw.email_verified === 'false') {
    throw fail(
      'oidc_email_unverified',
      'Your identity provider has not verified your email address.',
      'email_verified is not false',
      { expected: true, received: false },
    );
  }
  return {
    identity: identityFrom(raw, claimNames(conn), `${claims.iss}|${claims.sub}`),
    raw,
    purpose: row.purpose,
    initiatedBy: row.initiated_by,
  };
}

/** Enough of a subject to tell two apart in an audit event, not the identifier itself. */
const subjectHint = (sub: unknown) =>
  typeof sub === 'string' ? `${sub.slice(0, 4)}…(${sub.length} characters)` : null;

/** What to change, per OAuth 2.0 error code (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6). */
const PROVIDER_ERROR_HINTS: Record<string, string> = {
  invalid_client:
    "The provider did not accept Palisade's client credentials: check the client id and secret, and that the token endpoint authentication method registered at the provider is the one the connection uses (oidc.tokenAuthMethod).",
  unauthorized_client:
    'The application registered at the provider may not use the authorization code flow: allow the "authorization_code" grant type for it.',
  invalid_grant:
    'The authorization code was refused (expired, already used, or issued for another redirect URI); start signing in again.',
  invalid_request:
    "The provider found the request malformed; compare the application's settings at the provider with the connection.",
  unsupported_grant_type: 'The provider does not support the authorization code grant for this application.',
  invalid_scope: 'The provider refused the scopes "openid email profile"; allow them for the application.',
  access_denied:
    'The person, or a policy at the provider, refused the sign-in (for example: not assigned to the application).',
  login_required: 'The provider requires the person to sign in interactively.',
  consent_required: 'The person must consent to the application at the provider.',
  interaction_required: 'The provider needs the person to interact (sign in, consent or a second factor).',
  temporarily_unavailable: 'The provider is temporarily unavailable; try again later.',
  server_error: 'The provider had an internal error; try again later, and check its status.',
};

/** A request the outbound policy refused (the issuer, or an endpoint its discovery document names, is in a denied range). */
function outboundDenial(err: unknown): SsoFailure | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof PalisadeError && e.code === DENIED_CODE) {
      return fail(
        DENIED_CODE,
        'Palisade could not reach your identity provider.',
        'outbound connection policy',
        { detail: e.message.slice(0, 500), received: e.details?.address },
        502,
      );
    }
  }
  return undefined;
}

const errText = (err: unknown) => {
  const inner = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return (
    inner instanceof Error ? `${(inner as { code?: string }).code ?? inner.name}: ${inner.message}` : String(inner)
  ).slice(0, 300);
};

/** Turns openid-client's error into a specific diagnosis: which check failed, expected vs received. */
export function diagnoseOidc(
  err: unknown,
  expectedNonce: string | null,
  conn?: ConnectionRow,
  method?: string,
): SsoFailure {
  if (err instanceof SsoFailure) return err;
  const denied = outboundDenial(err);
  if (denied) return denied;
  // The provider's own answer, by its own name: the admin reads "invalid_client" and what to check.
  const answered = providerError(err);
  if (answered) {
    const code =
      answered.error === 'invalid_grant'
        ? 'oidc_code_rejected'
        : /^[a-z_]{1,40}$/.test(answered.error)
          ? `oidc_${answered.error}`
          : 'oidc_provider_error';
    return fail(
      code,
      'Your identity provider refused to complete the sign-in.',
      'the provider accepts the token or userinfo request',
      {
        received: {
          error: answered.error.slice(0, 100),
          error_description: answered.description?.slice(0, 300) ?? null,
          ...(answered.status ? { status: answered.status } : {}),
          ...(method ? { tokenAuthMethod: method } : {}),
        },
        detail: `The provider answered "${answered.error.slice(0, 100)}"${answered.description ? `: ${answered.description.slice(0, 300)}` : ''}.${PROVIDER_ERROR_HINTS[answered.error] ? ` ${PROVIDER_ERROR_HINTS[answered.error]}` : ''}${conn && method ? ` Palisade authenticated with ${method}.` : ''}`,
      },
    );
  }
  // openid-client wraps oauth4webapi's error: the inner one names the check, its cause holds expected/received.
  type Wrapped = { message?: string; code?: string; cause?: unknown };
  let e = err as Wrapped;
  if (e.cause instanceof Error) e = e.cause as Wrapped;
  const message = e.message ?? '';
  const cause = (e.cause && typeof e.cause === 'object' ? e.cause : {}) as Record<string, unknown>;
  const plain = "Your identity provider's answer failed Palisade's security checks, so you were not signed in.";
  if (/"nonce"/.test(message)) {
    const claims = cause.claims as Record<string, unknown> | undefined;
    return fail('oidc_nonce_mismatch', plain, 'ID token nonce equals the nonce of this sign-in', {
      expected: expectedNonce ? `${expectedNonce.slice(0, 6)}…` : null,
      received: typeof claims?.nonce === 'string' ? `${claims.nonce.slice(0, 6)}…` : (claims?.nonce ?? null),
    });
  }
  if (/"alg"/.test(message) || /alg/i.test(String(cause.header ? JSON.stringify(cause.header) : ''))) {
    return fail('oidc_id_token_bad_alg', plain, 'ID token signed with an accepted algorithm', {
      expected: 'RS256/ES256/… (signed)',
      received: (cause.header as { alg?: string } | undefined)?.alg ?? message.slice(0, 200),
      detail: errText(err),
    });
  }
  if (/signature/i.test(message))
    return fail('oidc_id_token_bad_signature', plain, 'ID token signature verifies against the IdP JWKS', {
      detail: errText(err),
    });
  if (/"iss"|issuer/i.test(message))
    return fail('oidc_wrong_issuer', plain, 'ID token issuer', {
      expected: cause.expected,
      received: (cause.claims as Record<string, unknown> | undefined)?.iss ?? cause.received,
      detail: errText(err),
    });
  if (/"aud"|audience/i.test(message))
    return fail('oidc_wrong_audience', plain, 'ID token audience', { expected: cause.expected, detail: errText(err) });
  if (/"exp"|expired|"iat"|"nbf"/i.test(message))
    return fail('oidc_id_token_expired', plain, 'ID token time claims', { detail: errText(err) });
  if (/state/i.test(message)) return fail('oidc_state_mismatch', plain, 'state parameter', { detail: errText(err) });
  if (/invalid_grant|code/i.test(message))
    return fail('oidc_code_rejected', 'Your identity provider refused to complete the sign-in.', 'code exchange', {
      detail: errText(err),
    });
  return fail('oidc_validation_failed', plain, 'OIDC response validation', { detail: errText(err) });
}
