import { type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from 'node:http';
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
  close(): Promise<void>;
}

export interface PeerAccount {
  email: string;
  given_name?: string;
  family_name?: string;
  groups?: string[];
}

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

export async function startOidcPeer(redirectUri: string, accounts: Record<string, PeerAccount>): Promise<OidcPeer> {
  let tamper: ((idToken: string) => string) | null = null;
  let upstreamPort = 0;
  const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    const up = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const isToken = req.method === 'POST' && (req.url ?? '').startsWith('/token') && tamper;
      if (!isToken) {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      ur.on('data', (c: Buffer) => chunks.push(c));
      ur.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id_token?: string };
        if (body.id_token && tamper) body.id_token = tamper(body.id_token);
        tamper = null;
        const out = JSON.stringify(body);
        const headers = { ...ur.headers, 'content-length': String(Buffer.byteLength(out)) };
        res.writeHead(ur.statusCode ?? 200, headers);
        res.end(out);
      });
    });
    req.pipe(up);
  });
  const proxyPort = await listen(proxy);
  const issuer = `http://127.0.0.1:${proxyPort}`;
  const clientId = 'palisade-test';
  const clientSecret = 'a-long-random-client-secret-for-tests-only-0123456789';
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    features: { devInteractions: { enabled: true } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['given_name', 'family_name', 'groups'] },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    async findAccount(_ctx: unknown, id: string) {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, email_verified: true, ...account }) };
    },
  });
  const upstream = createServer(provider.callback());
  upstreamPort = await listen(upstream);
  return {
    issuer,
    clientId,
    clientSecret,
    tamperNextIdToken(fn) {
      tamper = fn;
    },
    async close() {
      await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => upstream.close(r))]);
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
    const res = await fetch(url, { method, redirect: 'manual', headers: { cookie: cookieHeader(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) }, ...(body ? { body } : {}) });
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
