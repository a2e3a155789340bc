import { createHmac, timingSafeEqual } from 'node:crypto';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP receiver standing in for a Slack, Teams or webhook endpoint: it records every
 * request (headers and raw body) and answers what the test says. Stopping it is an outage of the
 * channel; starting it again listens on the same port. (No Slack or Teams server can run here: the
 * payloads are checked against their documented shapes in the test instead.)
 */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  json: any;
}

export class Receiver {
  received: Received[] = [];
  port = 0;
  status = 200;
  answer = 'ok';
  private server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let json: unknown = undefined;
        try {
          json = JSON.parse(raw);
        } catch {
          json = undefined;
        }
        if (this.status >= 200 && this.status < 300)
          this.received.push({ path: req.url ?? '', headers: req.headers, raw, json });
        res.writeHead(this.status, { 'content-type': 'text/plain', connection: 'close' }).end(this.answer);
      });
    });
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/** Verifies Palisade-Signature as the documented receiver snippet does (docs/notifications.md). */
export function verifySignature(
  secret: string,
  header: string | undefined,
  rawBody: string,
  nowSeconds: number,
): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const [, t, v1] = m as unknown as [string, string, string];
  if (Math.abs(nowSeconds - Number(t)) > 300) return false; // replayed or stale
  const mac = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return timingSafeEqual(mac, Buffer.from(v1, 'hex'));
}
