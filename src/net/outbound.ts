import { lookup as systemLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, type LookupFunction, isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { PalisadeConfig } from '../config.js';
import { PalisadeError, badRequest } from '../errors.js';

/**
 * Outbound connection policy (SSRF guard) for every connection whose destination an organization
 * admin chooses: SIEM stream destinations, SAML metadata URLs, OIDC discovery (and the endpoints
 * it names), model gateway upstreams.
 *
 * The host is resolved once, every address is checked against the policy, and the socket connects
 * to an address that was checked (a `lookup` hook handed to node:net/http/https/tls), so there is
 * no window between check and connect for DNS rebinding. TLS keeps SNI and certificate checks on
 * the hostname; HTTP keeps the Host header. Redirects are never followed here: a caller that
 * follows one sends the next hop through this module again.
 *
 * Default: deny loopback, unspecified (0.0.0.0/8, ::), link-local (169.254/16, fe80::/10),
 * cloud metadata addresses, multicast and reserved ranges, including their IPv4-mapped,
 * IPv4-compatible and NAT64 IPv6 forms. Private ranges (RFC 1918, 100.64/10, ULA) are allowed
 * unless PALISADE_OUTBOUND_DENY_PRIVATE=true, because self-hosted SIEMs and IdPs usually live
 * there. PALISADE_OUTBOUND_ALLOW_CIDRS allows chosen ranges despite all of this.
 */
export const ALLOW_VARIABLE = 'PALISADE_OUTBOUND_ALLOW_CIDRS';
export const DENY_PRIVATE_VARIABLE = 'PALISADE_OUTBOUND_DENY_PRIVATE';
export const DENIED_CODE = 'destination_address_denied' as const;

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
/** Resolves a hostname to every address it has (the system resolver by default). */
export type OutboundResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export type RangeKind =
  'cloud_metadata' | 'unspecified' | 'loopback' | 'link_local' | 'multicast' | 'reserved' | 'private' | 'public';

const DESCRIPTION: Record<Exclude<RangeKind, 'public'>, string> = {
  cloud_metadata: 'a cloud metadata service address',
  unspecified: 'an unspecified ("this host") address',
  loopback: 'a loopback address (this machine)',
  link_local: 'a link-local address (the range of cloud metadata services)',
  multicast: 'a multicast address',
  reserved: 'a reserved or broadcast address',
  private: 'a private-network address',
};

/** Checked in this order, so the most specific description wins. */
const RANGES: [Exclude<RangeKind, 'public'>, string, number][] = [
  ['cloud_metadata', '169.254.169.254', 32], // AWS, GCP, Azure, OpenStack, …
  ['cloud_metadata', '100.100.100.200', 32], // Alibaba Cloud
  ['cloud_metadata', 'fd00:ec2::254', 128], // AWS over IPv6
  ['unspecified', '0.0.0.0', 8],
  ['unspecified', '::', 128],
  ['loopback', '127.0.0.0', 8],
  ['loopback', '::1', 128],
  ['link_local', '169.254.0.0', 16],
  ['link_local', 'fe80::', 10],
  ['multicast', '224.0.0.0', 4],
  ['multicast', 'ff00::', 8],
  ['reserved', '240.0.0.0', 4],
  ['private', '10.0.0.0', 8],
  ['private', '172.16.0.0', 12],
  ['private', '192.168.0.0', 16],
  ['private', '100.64.0.0', 10],
  ['private', 'fc00::', 7],
  ['private', 'fec0::', 10],
];

const CLASSES: { kind: Exclude<RangeKind, 'public'>; list: BlockList }[] = (() => {
  const out: { kind: Exclude<RangeKind, 'public'>; list: BlockList }[] = [];
  for (const [kind, net, prefix] of RANGES) {
    let entry = out.find((c) => c.kind === kind);
    if (!entry) out.push((entry = { kind, list: new BlockList() }));
    entry.list.addSubnet(net, prefix, isIP(net) === 4 ? 'ipv4' : 'ipv6');
  }
  return out;
})();

const familyName = (address: string) => (isIP(address) === 4 ? 'ipv4' : 'ipv6');

/** The 8 groups of an IPv6 address (via the WHATWG parser, which also reads embedded dotted quads). */
function ipv6Groups(address: string): number[] | null {
  let host: string;
  try {
    host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  const [head = '', tail] = host.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(tail === undefined ? 0 : 8 - h.length - t.length).fill('0'), ...t].map((g) =>
    parseInt(g, 16),
  );
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : null;
}

/** The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d). */
export function embeddedIpv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (!g) return null;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const mapped = zero(0, 5) && g[5] === 0xffff;
  const compatible = zero(0, 6) && (g[6] !== 0 || (g[7] ?? 0) > 1);
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6);
  if (!mapped && !compatible && !nat64) return null;
  const [a = 0, b = 0] = [g[6], g[7]];
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
}

export interface OutboundPolicy {
  allow: BlockList;
  denyPrivate: boolean;
  /** Replaceable (tests point it at a real DNS server); read at every connection. */
  resolver: OutboundResolver;
  lookup: LookupFunction;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
}

const systemResolver: OutboundResolver = async (hostname) =>
  (await systemLookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

const policies = new WeakMap<object, OutboundPolicy>();

type PolicyConfig = Pick<PalisadeConfig, 'outboundAllowCidrs' | 'outboundDenyPrivate'>;

/** The policy of one configuration (built once; its agents keep connections alive between requests). */
export function outboundPolicy(config: PolicyConfig): OutboundPolicy {
  const cached = policies.get(config);
  if (cached) return cached;
  const allow = new BlockList();
  for (const cidr of config.outboundAllowCidrs) {
    const [net = '', prefix] = cidr.split('/');
    allow.addSubnet(net, Number(prefix ?? (isIP(net) === 4 ? 32 : 128)), familyName(net));
  }
  const policy = { allow, denyPrivate: config.outboundDenyPrivate, resolver: systemResolver } as OutboundPolicy;
  policy.lookup = guardedLookup(policy);
  policy.httpAgent = new http.Agent({ keepAlive: true, lookup: policy.lookup });
  policy.httpsAgent = new https.Agent({ keepAlive: true, lookup: policy.lookup });
  policies.set(config, policy);
  return policy;
}

/** Replaces how hostnames are resolved for this configuration (tests: a real dnsmasq on loopback). */
export function setOutboundResolver(config: PolicyConfig, resolver: OutboundResolver): void {
  outboundPolicy(config).resolver = resolver;
}

export function classifyAddress(address: string): { kind: RangeKind; effective: string } {
  const bare = address.replace(/%.*$/, '');
  const effective = isIP(bare) === 6 ? (embeddedIpv4(bare) ?? bare) : bare;
  const family = familyName(effective);
  for (const c of CLASSES) if (c.list.check(effective, family)) return { kind: c.kind, effective };
  return { kind: 'public', effective };
}

/** Throws destination_address_denied unless the policy lets `address` (an address `host` resolved to) be reached. */
export function assertAddressAllowed(policy: OutboundPolicy, host: string, address: string): void {
  const { kind, effective } = classifyAddress(address);
  const bare = address.replace(/%.*$/, '');
  if (
    policy.allow.check(bare, familyName(bare)) ||
    (effective !== bare && policy.allow.check(effective, familyName(effective)))
  )
    return;
  if (kind === 'public' || (kind === 'private' && !policy.denyPrivate)) return;
  const cidr = `${effective}/${isIP(effective) === 4 ? 32 : 128}`;
  const what =
    effective !== bare
      ? `${address} (which stands for ${effective}), ${DESCRIPTION[kind]}`
      : `${address}, ${DESCRIPTION[kind]}`;
  const subject = host === address ? `the address ${what}` : `${host}, which resolves to ${what}`;
  const barrier =
    kind === 'private'
      ? `private networks (${DENY_PRIVATE_VARIABLE}=true on this installation)`
      : 'this machine or its internal services';
  throw new PalisadeError(
    400,
    DENIED_CODE,
    `Palisade refused to connect to ${subject}: destinations set by organization admins may not reach ${barrier}. If it is intended, an installation operator can allow it with ${ALLOW_VARIABLE}=${cidr}.`,
    {
      details: { host, address, range: kind, allowVariable: ALLOW_VARIABLE },
    },
  );
}

/**
 * A hostname or IP address as a connection would use it: IPv4 in any notation the URL standard
 * accepts (2130706433, 0177.0.0.1, 0x7f.1) becomes dotted decimal; IPv6 loses its brackets.
 */
export function normalizeHost(raw: string): string {
  const h = raw.trim();
  if (!h || /[\s/\\@?#%]/.test(h))
    throw badRequest(
      'invalid_host',
      `"${raw.slice(0, 100)}" is not a host name or IP address; give a name such as siem.example.com or an address such as 10.0.0.5.`,
    );
  let hostname: string;
  try {
    hostname = new URL(`http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}/`).hostname;
  } catch {
    throw badRequest(
      'invalid_host',
      `"${raw.slice(0, 100)}" is not a host name or IP address; give a name such as siem.example.com or an address such as 10.0.0.5.`,
    );
  }
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}

/** Resolves `host` once and checks every address; the connection must then use these addresses. */
export async function resolveAllowed(policy: OutboundPolicy, host: string): Promise<ResolvedAddress[]> {
  const name = normalizeHost(host);
  const family = isIP(name);
  const addresses: ResolvedAddress[] = family
    ? [{ address: name, family: family === 4 ? 4 : 6 }]
    : await policy.resolver(name);
  if (!addresses.length) throw Object.assign(new Error(`${name} has no address`), { code: 'ENOTFOUND' });
  for (const a of addresses) assertAddressAllowed(policy, name, a.address);
  return addresses;
}

/** A node:net `lookup` that only ever hands the socket addresses the policy allows. */
function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolveAllowed(policy, hostname).then(
      (all) => {
        const wanted =
          options.family === 4 || options.family === 'IPv4'
            ? 4
            : options.family === 6 || options.family === 'IPv6'
              ? 6
              : 0;
        const list = wanted ? all.filter((a) => a.family === wanted) : all;
        const first = list[0];
        if (!first)
          return callback(
            Object.assign(new Error(`${hostname} has no IPv${wanted} address`), { code: 'ENOTFOUND' }),
            '',
            0,
          );
        if (options.all) return callback(null, list);
        return callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

/**
 * Create/update-time check of a destination host: an IP literal, or every address its name
 * resolves to now, must be allowed (400 destination_address_denied). A name that does not resolve
 * yet is accepted; the check at connection time still applies.
 */
export async function assertDestinationAllowed(config: PolicyConfig, host: string): Promise<void> {
  try {
    await resolveAllowed(outboundPolicy(config), host);
  } catch (err) {
    if (err instanceof PalisadeError) throw err;
  }
}

/** What node:net / node:tls connect needs to reach `host` through the policy (IP literals skip `lookup`, so they are checked here). */
export function guardedConnectOptions(config: PolicyConfig, host: string): { host: string; lookup: LookupFunction } {
  const policy = outboundPolicy(config);
  const name = normalizeHost(host);
  if (isIP(name)) assertAddressAllowed(policy, name, name);
  return { host: name, lookup: policy.lookup };
}

export interface OutboundRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | null;
  signal?: AbortSignal | null;
  /** Limit for the whole exchange, body included (outboundRequest: 10 s by default; outboundFetch: none unless given). */
  timeoutMs?: number;
}

/** Sends one request through the policy and returns the response head with its body as a stream. Never follows redirects. */
function open(config: PolicyConfig, target: string | URL, init: OutboundRequestInit): Promise<http.IncomingMessage> {
  const url = typeof target === 'string' ? new URL(target) : target;
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badRequest('unsupported_url_scheme', `${url.protocol} URLs are not supported; use https://.`);
  const policy = outboundPolicy(config);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (isIP(host)) assertAddressAllowed(policy, host, host);
  const timeout = init.timeoutMs ? AbortSignal.timeout(init.timeoutMs) : undefined;
  const signals = [init.signal, timeout].filter((s): s is AbortSignal => !!s);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const secure = url.protocol === 'https:';
  const headers = { ...(init.headers ?? {}) };
  // A known length, like fetch() sends, rather than chunked encoding, which some receivers refuse.
  if (init.body != null && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length'))
    headers['content-length'] = String(Buffer.byteLength(init.body));
  const attempt = (retry: boolean): Promise<http.IncomingMessage> =>
    new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(
        url,
        {
          method: init.method ?? 'GET',
          headers,
          agent: secure ? policy.httpsAgent : policy.httpAgent,
          lookup: policy.lookup,
          ...(signal ? { signal } : {}),
        },
        resolve,
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed while idle: the request never reached it; once more on a new connection (Node's documented pattern).
        if (retry && req.reusedSocket && err.code === 'ECONNRESET' && !signal?.aborted) return resolve(attempt(false));
        reject(
          timeout?.aborted && !init.signal?.aborted
            ? new Error(`${url.host} did not answer within ${(init.timeoutMs ?? 0) / 1000}s`, { cause: err })
            : err,
        );
      });
      req.end(init.body ?? undefined);
    });
  return attempt(true);
}

export interface OutboundResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** At most maxBytes of the body. */
  body: Buffer;
  /** The body was longer than maxBytes (the rest was not read). */
  truncated: boolean;
}

/** One request through the policy, body read up to `maxBytes`. */
export async function outboundRequest(
  config: PolicyConfig,
  target: string | URL,
  init: OutboundRequestInit & { maxBytes?: number } = {},
): Promise<OutboundResponse> {
  const res = await open(config, target, { ...init, timeoutMs: init.timeoutMs ?? 10_000 });
  const max = init.maxBytes ?? 1024 * 1024;
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > max) {
        truncated = true;
        break;
      }
    }
  } finally {
    if (truncated) res.destroy();
  }
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, max), truncated };
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * fetch() through the policy: a Fetch API Response whose body streams. For libraries that accept a
 * custom fetch (openid-client) and for streaming proxies. Redirects are returned, never followed.
 */
export function outboundFetch(config: PolicyConfig) {
  return async (
    input: string | URL,
    init: {
      method?: string;
      headers?: Record<string, string> | Headers;
      body?: unknown;
      signal?: AbortSignal | null;
    } = {},
  ): Promise<Response> => {
    const headers =
      init.headers instanceof Headers ? Object.fromEntries(init.headers.entries()) : { ...(init.headers ?? {}) };
    let body: string | Uint8Array | null = null;
    if (init.body instanceof URLSearchParams) body = init.body.toString();
    else if (typeof init.body === 'string' || init.body instanceof Uint8Array) body = init.body;
    else if (init.body instanceof ArrayBuffer) body = new Uint8Array(init.body);
    else if (init.body !== undefined && init.body !== null)
      throw new TypeError('outboundFetch sends string, URLSearchParams or byte bodies only');
    const res = await open(config, input, { method: init.method ?? 'GET', headers, body, signal: init.signal ?? null });
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 599) {
      res.destroy();
      throw new Error(`${new URL(input).host} answered with HTTP status ${status}`);
    }
    const h = new Headers();
    for (const [k, v] of Object.entries(res.headers)) {
      if (Array.isArray(v)) for (const x of v) h.append(k, x);
      else if (v !== undefined) h.set(k, v);
    }
    if (NULL_BODY.has(status)) {
      res.resume();
      return new Response(null, { status, headers: h });
    }
    return new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, headers: h });
  };
}
