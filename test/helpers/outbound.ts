import { Resolver } from 'node:dns/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OutboundResolver, ResolvedAddress } from '../../src/net/outbound.js';
import type { Dnsmasq } from '../domains/dns-peers.js';

/** Resolves through a real dnsmasq (A and AAAA), the way the system resolver would; records each name asked. */
export function dnsmasqResolver(dns: Dnsmasq): OutboundResolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    asked.push(hostname);
    const r = new Resolver({ timeout: 1000, tries: 2 });
    r.setServers([dns.server]);
    const [v4, v6] = await Promise.allSettled([r.resolve4(hostname), r.resolve6(hostname)]);
    const out: ResolvedAddress[] = [
      ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
    if (!out.length) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return out;
  };
  return Object.assign(resolve, { asked });
}

/**
 * A loopback HTTP server that counts every TCP connection and request it gets: the witness that a
 * refused destination was never contacted. `handle` answers (default: 200 "ok", connection closed,
 * so every request needs a new connection and thus a new resolution).
 */
export interface WitnessServer {
  host: string;
  port: number;
  url: string;
  connections: number;
  requests: { method: string; url: string; host: string | undefined }[];
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

export async function startWitness(host = '127.0.0.1', port = 0): Promise<WitnessServer> {
  const w: WitnessServer = {
    host,
    port: 0,
    url: '',
    connections: 0,
    requests: [],
    handle: (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end('ok'),
    close: async () => undefined,
  };
  const server = createServer((req, res) => {
    w.requests.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host });
    req.resume();
    req.on('end', () => w.handle(req, res));
  });
  server.on('connection', () => w.connections++);
  await new Promise<void>((r) => server.listen(port, host, r));
  w.port = (server.address() as AddressInfo).port;
  w.url = `http://${host.includes(':') ? `[${host}]` : host}:${w.port}`;
  w.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return w;
}
