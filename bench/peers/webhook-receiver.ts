/**
 * A local HTTP receiver for the drain benchmark, in a process of its own (so its parsing does not
 * share Palisade's event loop): accepts Palisade webhook batches, checks the Palisade-Signature
 * HMAC (secret from WEBHOOK_SECRET, sent on stdin's first line when not set), parses every batch,
 * and counts events, bytes and any seq that does not follow the one before. GET /stats answers the
 * counts. Prints its port on standard output.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

let secret = process.env.WEBHOOK_SECRET ?? '';
const stats = { batches: 0, events: 0, bytes: 0, outOfOrder: 0, badSignatures: 0, lastSeq: 0, redelivered: 0 };

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  if (req.method === 'PUT' && req.url === '/secret') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      secret = Buffer.concat(chunks).toString('utf8').trim();
      res.writeHead(204).end();
    });
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['palisade-signature'] ?? ''));
    const mac = m ? createHmac('sha256', secret).update(`${m[1]}.`).update(body).digest() : undefined;
    if (!m || !mac || !timingSafeEqual(mac, Buffer.from(m[2] as string, 'hex'))) {
      stats.badSignatures++;
      res.writeHead(401).end();
      return;
    }
    const parsed = JSON.parse(body.toString('utf8')) as { redelivery?: boolean; events: { seq: number }[] };
    for (const e of parsed.events) {
      if (e.seq !== stats.lastSeq + 1 && !parsed.redelivery) stats.outOfOrder++;
      stats.lastSeq = Math.max(stats.lastSeq, e.seq);
    }
    if (parsed.redelivery) stats.redelivered += parsed.events.length;
    stats.batches++;
    stats.events += parsed.events.length;
    stats.bytes += body.length;
    res.writeHead(204).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
