import {
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
  request as httpRequest,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OpenID Provider (panva's oidc-provider, OpenID Certified) on loopback, behind a small
 * forwarding proxy that is the issuer URL. The proxy lets the attack tests tamper with the token
 * endpoint's answer the way a network attacker or a compromised IdP would.
 */
export interface OidcPeer {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Rewrites the id_token of the next token response. */
  tamperNextIdToken(fn: (idToken: string) => string): void;
  /** Rewrites the next userinfo response (a provider answering for another subject). */
  tamperNextUserinfo(fn: (claims: Record<string, unknown>) => Record<string, unknown>): void;
  /** Replaces the provider behind the same issuer URL (new keys, algorithms, client settings), as a provider rotating keys does. */
  reconfigure(options: PeerOptions): Promise<void>;
  /** Requests the provider received, by path (token endpoint authentication is read from them). */
  seen: { method: string; path: string; authorization: string | undefined; body: string }[];
  close(): Promise<void>;
}

export interface PeerOptions {
  /** Client registration overrides: token_endpoint_auth_method, jwks, id_token_signed_response_alg, client_secret… */
  client?: Record<string, unknown>;
  /** The provider's signing keys (private JWKs); default: oidc-provider's development keys. */
  jwks?: { keys: Record<string, unknown>[] };
  /** id_token_signing_alg_values_supported. */
  idTokenSigningAlgValues?: string[];
  /** token_endpoint_auth_methods_supported. */
  clientAuthMethods?: string[];
  /**
   * HAND-WRITTEN STRICTNESS (labelled): oidc-provider treats client_secret_basic and _post as
   * interchangeable; providers such as Auth0 refuse the one the application is not registered for.
   * The proxy answers such a token request with invalid_client itself, as those providers do.
   */
  strictSecretMethod?: 'client_secret_basic' | 'client_secret_post';
}

export interface PeerAccount {
  email: string;
  given_name?: string;
  family_name?: string;
  groups?: string[] | string;
}

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

export async function startOidcPeer(
  redirectUri: string,
  accounts: Record<string, PeerAccount>,
  initial: PeerOptions = {},
): Promise<OidcPeer> {
  let strict = initial.strictSecretMethod;
  let tamper: ((idToken: string) => string) | null = null;
  let tamperUserinfo: ((claims: Record<string, unknown>) => Record<string, unknown>) | null = null;
  let upstreamPort = 0;
  const seen: OidcPeer['seen'] = [];
  const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    const reqChunks: Buffer[] = [];
    req.on('data', (c: Buffer) => reqChunks.push(c));
    req.on('end', () => {
      const reqBody = Buffer.concat(reqChunks);
      seen.push({
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0] ?? '',
        authorization: req.headers.authorization,
        body: reqBody.toString('utf8'),
      });
      const isTokenRequest = req.method === 'POST' && (req.url ?? '').startsWith('/token');
      const usedBasic = /^Basic /i.test(req.headers.authorization ?? '');
      const usedPost = /(^|&)client_secret=/.test(reqBody.toString('utf8'));
      if (
        isTokenRequest &&
        ((strict === 'client_secret_post' && usedBasic) || (strict === 'client_secret_basic' && usedPost))
      ) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ error: 'invalid_client', error_description: `client authentication must use ${strict}` }),
          );
        return;
      }
      const up = httpRequest(
        { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
        (ur) => {
          const isToken = req.method === 'POST' && (req.url ?? '').startsWith('/token') && tamper;
          const isUserinfo = (req.url ?? '').startsWith('/me') && tamperUserinfo;
          if (!isToken && !isUserinfo) {
            res.writeHead(ur.statusCode ?? 502, ur.headers);
            ur.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          ur.on('data', (c: Buffer) => chunks.push(c));
          ur.on('end', () => {
            let body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
            if (isToken && typeof body.id_token === 'string' && tamper) body.id_token = tamper(body.id_token);
            if (isToken) tamper = null;
            if (isUserinfo && tamperUserinfo) {
              body = tamperUserinfo(body);
              tamperUserinfo = null;
            }
            const out = JSON.stringify(body);
            const headers = { ...ur.headers, 'content-length': String(Buffer.byteLength(out)) };
            res.writeHead(ur.statusCode ?? 200, headers);
            res.end(out);
          });
        },
      );
      up.end(reqBody);
    });
  });
  const proxyPort = await listen(proxy);
  const issuer = `http://127.0.0.1:${proxyPort}`;
  const clientId = 'palisade-test';
  const clientSecret = 'a-long-random-client-secret-for-tests-only-0123456789';
  const startProvider = async (options: PeerOptions) => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          ...(options.client ?? {}),
        },
      ],
      features: { devInteractions: { enabled: true } },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name', 'groups'] },
      cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
      ...(options.jwks ? { jwks: options.jwks } : {}),
      ...(options.idTokenSigningAlgValues
        ? { enabledJWA: { idTokenSigningAlgValues: options.idTokenSigningAlgValues } }
        : {}),
      ...(options.clientAuthMethods ? { clientAuthMethods: options.clientAuthMethods } : {}),
      async findAccount(_ctx: unknown, id: string) {
        const account = accounts[id];
        if (!account) return undefined;
        return { accountId: id, claims: async () => ({ sub: id, email_verified: true, ...account }) };
      },
    });
    const server = createServer(provider.callback());
    const port = await listen(server);
    return { server, port };
  };
  let upstream = await startProvider(initial);
  upstreamPort = upstream.port;
  return {
    issuer,
    clientId,
    clientSecret,
    seen,
    tamperNextIdToken(fn) {
      tamper = fn;
    },
    tamperNextUserinfo(fn) {
      tamperUserinfo = fn;
    },
    async reconfigure(options) {
      strict = options.strictSecretMethod;
      const previous = upstream.server;
      upstream = await startProvider(options);
      upstreamPort = upstream.port;
      await new Promise((r) => previous.close(r));
    },
    async close() {
      await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => upstream.server.close(r))]);
    },
  };
}

/**
 * A browser without a browser: follows redirects on the IdP with a cookie jar and submits the
 * devInteractions forms (login, then consent) until the IdP redirects back to `returnPrefix`.
 */
export async function driveOidcLogin(authorizeUrl: string, login: string, returnPrefix: string): Promise<string> {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let url = authorizeUrl;
  let method = 'GET';
  let body: string | undefined;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(returnPrefix)) return url;
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { cookie: cookieHeader(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(body ? { body } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = (pair ?? '').indexOf('=');
      if (i > 0) jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`IdP page without a form or redirect at ${url}: ${res.status} ${html.slice(0, 300)}`);
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1] ?? 'login';
    const form = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      form.set('login', login);
      form.set('password', 'any');
    }
    url = new URL(action.replace(/&amp;/g, '&'), url).href;
    method = 'POST';
    body = form.toString();
  }
  throw new Error('too many redirects at the IdP');
}
