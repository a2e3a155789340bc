import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, importPKCS8, importX509 } from 'jose';
import * as client from 'openid-client';
import type { PalisadeConfig } from '../config.js';
import { outboundFetch } from '../net/outbound.js';
import type { ConnectionRow } from './connections.js';
import { fail } from './diagnosis.js';
import type { OidcTokenAuthMethod } from './tables.js';
import { outboundConfigFor } from './test-idp-policy.js';

/**
 * The relying party's view of one OIDC provider: its discovery document, how Palisade authenticates
 * at its token endpoint, and a way to look again when the provider rotated its keys.
 *
 * - Client authentication is chosen from discovery's `token_endpoint_auth_methods_supported`
 *   (RFC 8414: absent means client_secret_basic) unless the connection names one: basic, then post,
 *   then private_key_jwt (signed with the connection's own key, published at its JWKS URL).
 * - Discovery is cached per connection and refreshed daily, and at once (rate limited) when an ID
 *   token names a key or an algorithm the cached documents do not list.
 * - Every request goes through the outbound policy (src/net/outbound.ts).
 */
export const TOKEN_AUTH_METHODS: readonly OidcTokenAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
];
const DISCOVERY_MAX_AGE_MS = 24 * 3600_000;

interface Cached {
  version: string;
  config: Promise<client.Configuration>;
  fetchedAt: number;
  method: Promise<OidcTokenAuthMethod>;
}
const configs = new Map<string, Cached>();
/** When a connection's provider was last re-discovered outside the schedule (rate limit). */
const lastRediscovery = new Map<string, number>();
/** For `auto`: the secret method a provider turned out to accept when it refused the first choice. */
const learnedMethod = new Map<string, OidcTokenAuthMethod>();

/**
 * One sign-in's view of the token endpoint: the answer is kept (`capture`) so that, after a
 * re-discovery, the same answer is validated again (`replay`) — an authorization code works once.
 */
interface TokenExchange {
  tokenEndpoint?: string;
  captured?: { status: number; headers: [string, string][]; body: string };
  replay?: boolean;
}
const exchange = new AsyncLocalStorage<TokenExchange>();

function fetcherFor(palisade: PalisadeConfig) {
  const outbound = outboundFetch(palisade);
  return async (input: string | URL, init: Parameters<ReturnType<typeof outboundFetch>>[1] = {}): Promise<Response> => {
    const store = exchange.getStore();
    const isToken = store?.tokenEndpoint !== undefined && new URL(String(input)).href === store.tokenEndpoint;
    if (isToken && store?.replay && store.captured) {
      const c = store.captured;
      return new Response(c.body, { status: c.status, headers: c.headers });
    }
    const res = await outbound(input, init);
    if (!isToken || !store) return res;
    const body = await res.text();
    store.captured = { status: res.status, headers: [...res.headers.entries()], body };
    return new Response(body, { status: res.status, headers: res.headers });
  };
}

/** The client key that signs private_key_jwt assertions, and its public JWK (kid = RFC 7638 thumbprint). */
export async function clientSigningKey(
  privateKeyPem: string,
  certificatePem: string,
): Promise<{ key: client.CryptoKey; kid: string }> {
  const key = await importPKCS8(privateKeyPem, 'RS256');
  return { key, kid: (await publicJwk(certificatePem)).kid };
}

export async function publicJwk(
  certificatePem: string,
): Promise<{ kty: string; kid: string; use: 'sig'; alg: 'RS256'; n?: string; e?: string }> {
  const jwk = await exportJWK(await importX509(certificatePem, 'RS256', { extractable: true }));
  const kid = await calculateJwkThumbprint(jwk);
  return { kty: jwk.kty as string, n: jwk.n as string, e: jwk.e as string, kid, use: 'sig', alg: 'RS256' };
}

/** The method a connection uses: its own choice, else the first of basic, post, private_key_jwt the provider supports. */
export function chooseTokenAuthMethod(
  conn: Pick<ConnectionRow, 'oidc_token_auth_method' | 'sp_private_key_ct'>,
  supported: string[] | undefined,
  learned?: OidcTokenAuthMethod,
): OidcTokenAuthMethod {
  if (conn.oidc_token_auth_method) return conn.oidc_token_auth_method;
  const offered = supported ?? ['client_secret_basic'];
  if (learned && offered.includes(learned)) return learned;
  const method = TOKEN_AUTH_METHODS.find(
    (m) => offered.includes(m) && (m !== 'private_key_jwt' || conn.sp_private_key_ct !== null),
  );
  if (!method) {
    throw fail(
      'oidc_client_auth_unsupported',
      'This sign-in method is not set up completely. Your administrator has been given the details.',
      'a token endpoint authentication method both sides support',
      {
        expected: TOKEN_AUTH_METHODS,
        received: offered,
        detail: `The provider's discovery document offers only ${offered.join(', ')} at its token endpoint; Palisade supports ${TOKEN_AUTH_METHODS.join(', ')}.`,
      },
      502,
    );
  }
  return method;
}

export interface ClientCredentials {
  secret: string;
  /** The connection's key pair, opened only when private_key_jwt needs it. */
  signingKey: () => Promise<{ privateKeyPem: string; certificatePem: string } | null>;
}

async function build(
  conn: ConnectionRow,
  creds: ClientCredentials,
  palisade: PalisadeConfig,
  learned?: OidcTokenAuthMethod,
): Promise<{ config: client.Configuration; method: OidcTokenAuthMethod }> {
  const issuer = new URL(conn.oidc_issuer ?? '');
  const options = {
    [client.customFetch]: fetcherFor(outboundConfigFor(conn, palisade)),
    ...(issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
  };
  const discovered = await client.discovery(issuer, conn.oidc_client_id ?? '', undefined, client.None(), options);
  const server = discovered.serverMetadata();
  const method = chooseTokenAuthMethod(conn, server.token_endpoint_auth_methods_supported, learned);
  let auth: client.ClientAuth;
  if (method === 'client_secret_basic') auth = client.ClientSecretBasic(creds.secret);
  else if (method === 'client_secret_post') auth = client.ClientSecretPost(creds.secret);
  else {
    const pair = await creds.signingKey();
    if (!pair)
      throw fail(
        'oidc_client_key_missing',
        'This sign-in method is not set up completely. Your administrator has been given the details.',
        'a client key for private_key_jwt',
        {
          detail:
            'The connection authenticates with private_key_jwt but has no key: create the connection again (it gets a key, published at its jwksUri) and register that key at the provider.',
        },
        500,
      );
    const { key, kid } = await clientSigningKey(pair.privateKeyPem, pair.certificatePem);
    auth = client.PrivateKeyJwt({ key, kid });
  }
  const config = new client.Configuration(
    server,
    conn.oidc_client_id ?? '',
    method === 'private_key_jwt' ? {} : { client_secret: creds.secret },
    auth,
  );
  config[client.customFetch] = options[client.customFetch];
  if (issuer.protocol === 'http:') client.allowInsecureRequests(config);
  client.enableNonRepudiationChecks(config);
  return { config, method };
}

function versionOf(conn: ConnectionRow, secret: string): string {
  return `${conn.updated_at}|${conn.oidc_issuer}|${conn.oidc_client_id}|${conn.oidc_token_auth_method ?? 'auto'}|${createHash('sha256').update(secret).digest('base64url')}`;
}

/** The provider's configuration for this connection: cached, refreshed daily, rebuilt when the connection changes. */
export function configFor(
  conn: ConnectionRow,
  creds: ClientCredentials,
  palisade: PalisadeConfig,
  now: number,
  fresh = false,
): { config: Promise<client.Configuration>; method: Promise<OidcTokenAuthMethod> } {
  const version = versionOf(conn, creds.secret);
  const cached = configs.get(conn.id);
  if (!fresh && cached && cached.version === version && now - cached.fetchedAt < DISCOVERY_MAX_AGE_MS) return cached;
  const built = build(conn, creds, palisade, learnedMethod.get(version));
  const entry: Cached = {
    version,
    fetchedAt: now,
    config: built.then((b) => b.config),
    method: built.then((b) => b.method),
  };
  // A failure reaches whoever awaits; the derived promise nobody awaits must not become an unhandled rejection.
  entry.config.catch(() => undefined);
  entry.method.catch(() => undefined);
  built.catch(() => {
    if (configs.get(conn.id) === entry) configs.delete(conn.id);
  });
  configs.set(conn.id, entry);
  return entry;
}

/**
 * Whether an ID-token failure means the cached provider documents are out of date: a key id the
 * cached JWKS does not hold, or an algorithm the cached discovery document does not list. (An ID
 * token without a signature, or signed with a MAC, is not this: it is refused as it is.)
 */
export function isStaleKeyError(err: unknown): { kid?: string; alg?: string } | undefined {
  // openid-client wraps oauth4webapi's error, whose cause holds the JWT header and the reason.
  const chain: { message?: string; cause?: unknown; header?: { alg?: string; kid?: string }; reason?: string }[] = [];
  for (let e = err as (typeof chain)[number] | undefined, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    chain.push(e);
    e = e.cause as (typeof chain)[number] | undefined;
  }
  const message = chain.map((e) => e.message ?? '').join(' | ');
  const detail = chain.find((e) => e.header !== undefined);
  const header = detail?.header ?? {};
  const named = { ...(header.kid ? { kid: header.kid } : {}), ...(header.alg ? { alg: header.alg } : {}) };
  if (/no applicable keys found/.test(message)) return named;
  // Only an algorithm the cached discovery document (or its default) lacks; never one refused as unsafe.
  if (
    /unexpected JWT "alg"/.test(message) &&
    detail?.reason !== 'client configuration' &&
    typeof header.alg === 'string' &&
    !/^(none|HS\d+)$/i.test(header.alg)
  )
    return named;
  return undefined;
}

/**
 * Runs the code exchange; when the ID token names a key or algorithm the cached documents lack,
 * fetches discovery and JWKS again (at most once per connection per `oidcRediscoverMinSeconds`) and
 * validates the same token response against them. Returns the tokens and the method used.
 */
export async function exchangeCode(
  conn: ConnectionRow,
  creds: ClientCredentials,
  palisade: PalisadeConfig,
  now: number,
  grant: (config: client.Configuration) => Promise<Awaited<ReturnType<typeof client.authorizationCodeGrant>>>,
): Promise<{
  tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  config: client.Configuration;
  method: OidcTokenAuthMethod;
  rediscovered: boolean;
}> {
  const first = configFor(conn, creds, palisade, now);
  const config = await first.config;
  const method = await first.method;
  const endpointOf = (c: client.Configuration) => {
    const url = c.serverMetadata().token_endpoint;
    return url ? new URL(url).href : undefined;
  };
  const store: TokenExchange = { ...(endpointOf(config) ? { tokenEndpoint: endpointOf(config) as string } : {}) };
  try {
    return { tokens: await exchange.run(store, () => grant(config)), config, method, rediscovered: false };
  } catch (err) {
    // auto: a provider that lists both secret methods may accept only the one its application is
    // registered with. Client authentication fails before the code is looked at, so the same code
    // is offered once more with the other method, and the one that works is remembered.
    const other: OidcTokenAuthMethod | undefined =
      method === 'client_secret_basic'
        ? 'client_secret_post'
        : method === 'client_secret_post'
          ? 'client_secret_basic'
          : undefined;
    const supported = config.serverMetadata().token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    if (
      !conn.oidc_token_auth_method &&
      other &&
      supported.includes(other) &&
      providerError(err)?.error === 'invalid_client'
    ) {
      const version = versionOf(conn, creds.secret);
      learnedMethod.set(version, other);
      const retry = configFor(conn, creds, palisade, now, true);
      const retryConfig = await retry.config;
      try {
        return {
          tokens: await exchange.run(
            { ...(endpointOf(retryConfig) ? { tokenEndpoint: endpointOf(retryConfig) as string } : {}) },
            () => grant(retryConfig),
          ),
          config: retryConfig,
          method: other,
          rediscovered: false,
        };
      } catch (retryErr) {
        // Neither method works: forget the guess, and report the provider's answer to the first choice.
        learnedMethod.delete(version);
        configs.delete(conn.id);
        if (providerError(retryErr)?.error === 'invalid_client') throw err;
        throw retryErr;
      }
    }
    const stale = isStaleKeyError(err);
    if (!stale || !store.captured) throw err;
    const last = lastRediscovery.get(conn.id) ?? 0;
    if (now - last < palisade.oidcRediscoverMinSeconds * 1000) {
      throw fail(
        'oidc_signing_key_unknown',
        'Your identity provider just changed its signing keys. Wait a minute and sign in again.',
        'ID token signed with a key and algorithm the provider publishes',
        {
          received: stale,
          detail: `The provider's documents were refreshed less than ${palisade.oidcRediscoverMinSeconds} seconds ago and still do not list this key or algorithm; Palisade looks again after that.`,
        },
      );
    }
    lastRediscovery.set(conn.id, now);
    const again = configFor(conn, creds, palisade, now, true);
    const freshConfig = await again.config;
    const replay: TokenExchange = {
      ...(endpointOf(freshConfig) ? { tokenEndpoint: endpointOf(freshConfig) as string } : {}),
      captured: store.captured,
      replay: true,
    };
    try {
      return {
        tokens: await exchange.run(replay, () => grant(freshConfig)),
        config: freshConfig,
        method: await again.method,
        rediscovered: true,
      };
    } catch (retryErr) {
      const still = isStaleKeyError(retryErr);
      if (!still) throw retryErr;
      throw fail(
        'oidc_signing_key_unknown',
        "Your identity provider's answer failed Palisade's security checks, so you were not signed in.",
        'ID token signed with a key and algorithm the provider publishes',
        {
          received: still,
          detail: `Palisade fetched the provider's discovery document and JWKS again, and they still do not publish ${still.kid ? `key "${still.kid}"` : 'this key'}${still.alg ? ` for ${still.alg}` : ''}. The provider signs with a key it does not publish: check its signing key configuration.`,
        },
      );
    }
  }
}

/** For tests: forget cached provider documents and rate-limit state. */
export function forgetProviders(): void {
  configs.clear();
  lastRediscovery.clear();
  learnedMethod.clear();
}

/** The OAuth error a provider answered with (openid-client's ResponseBodyError, or a WWW-Authenticate challenge). */
export function providerError(
  err: unknown,
): { error: string; description: string | null; status: number | null } | undefined {
  for (
    let e = err as
        { error?: unknown; error_description?: unknown; status?: unknown; cause?: unknown; code?: string } | undefined,
      depth = 0;
    e && depth < 4;
    depth++
  ) {
    if (typeof e.error === 'string' && e.error)
      return {
        error: e.error,
        description: typeof e.error_description === 'string' ? e.error_description : null,
        status: typeof e.status === 'number' ? e.status : null,
      };
    const challenges = (e as { cause?: { parameters?: { error?: string; error_description?: string } }[] }).cause;
    if (
      e.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE' &&
      Array.isArray(challenges) &&
      challenges[0]?.parameters?.error
    ) {
      return {
        error: challenges[0].parameters.error,
        description: challenges[0].parameters.error_description ?? null,
        status: null,
      };
    }
    e = e.cause as typeof e;
  }
  return undefined;
}
