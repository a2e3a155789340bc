import { createHmac, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type Server, createServer } from 'node:http';

/**
 * A FAKE SIEM intake (no Splunk or Datadog can run here): one loopback HTTP server that checks the
 * documented request formats strictly and records what it accepted.
 * - Splunk HEC  POST /services/collector/event[/1.0]: `Authorization: Splunk <token>`, JSON content,
 *   a body of one or more concatenated JSON objects each with an object or string `event` and
 *   optional numeric-or-numeric-string `time`, string host/source/sourcetype/index. Answers like HEC:
 *   {"text":"Success","code":0}, 401 {"text":"Token is required","code":2}, 403 {"text":"Invalid token","code":4},
 *   400 {"text":"Invalid data format","code":6}.
 * - Datadog     POST /api/v2/logs: `DD-API-KEY`, JSON array of at most 1000 entries with string message,
 *   at most 5 MB; 202 {} or 403 {"errors":["Forbidden"]}.
 * - Webhook     POST /hook: Palisade-Signature t=…,v1=… HMAC-SHA256 over "t.body", t within 300 s.
 */
export interface FakeSiem {
  url: string;
  port: number;
  hec: unknown[];
  datadog: Record<string, unknown>[];
  webhook: { events: Record<string, unknown>[] }[];
  rejected: { path: string; status: number; reason: string }[];
  /** Makes every request fail with this status until cleared. */
  failWith: number | null;
  /** After this many accepted webhook batches, record the next one but never answer (a receiver that hangs). */
  hangWebhookAfter: number | null;
  stop(): Promise<void>;
  start(): Promise<void>;
}

const MAX_DD_BYTES = 5 * 1024 * 1024;

function parseConcatenatedJson(body: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}') {
      if (--depth === 0) out.push(JSON.parse(body.slice(start, i + 1)));
    } else if (depth === 0 && !/\s/.test(c ?? '')) throw new Error(`unexpected ${c} between events`);
  }
  if (depth !== 0) throw new Error('unterminated event object');
  return out;
}

export async function startFakeSiem(opts: {
  hecToken: string;
  ddApiKey: string;
  webhookSecret: () => string | null;
  port?: number;
  now?: () => Date;
}): Promise<FakeSiem> {
  let server: Server | undefined;
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const siem: FakeSiem = {
    url: '',
    port: opts.port ?? 0,
    hec: [],
    datadog: [],
    webhook: [],
    rejected: [],
    failWith: null,
    hangWebhookAfter: null,
    async start() {
      server = createServer(async (req, res) => {
        const body = await read(req);
        const answer = (status: number, json: unknown, reason?: string) => {
          if (status >= 300)
            siem.rejected.push({ path: req.url ?? '', status, reason: reason ?? JSON.stringify(json) });
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
        };
        if (siem.failWith) return answer(siem.failWith, { text: 'Server is busy', code: 9 }, 'forced failure');
        if (req.method !== 'POST') return answer(405, { text: 'Method not allowed' });
        const path = (req.url ?? '').split('?')[0];
        if (path === '/services/collector/event' || path === '/services/collector/event/1.0') {
          const auth = req.headers.authorization;
          if (!auth) return answer(401, { text: 'Token is required', code: 2 });
          if (auth !== `Splunk ${opts.hecToken}`) return answer(403, { text: 'Invalid token', code: 4 });
          try {
            const events = parseConcatenatedJson(body);
            if (!events.length) throw new Error('no data');
            for (const e of events as Record<string, unknown>[]) {
              if (!('event' in e) || e.event === null || e.event === '') throw new Error('event field is required');
              if (
                'time' in e &&
                !(typeof e.time === 'number' || (typeof e.time === 'string' && /^\d+(\.\d+)?$/.test(e.time)))
              )
                throw new Error('time must be epoch seconds');
              for (const k of ['host', 'source', 'sourcetype', 'index'])
                if (k in e && typeof e[k] !== 'string') throw new Error(`${k} must be a string`);
              const extra = Object.keys(e).filter(
                (k) => !['time', 'host', 'source', 'sourcetype', 'index', 'event', 'fields'].includes(k),
              );
              if (extra.length) throw new Error(`unknown keys ${extra.join(',')}`);
            }
            siem.hec.push(...events);
            return answer(200, { text: 'Success', code: 0 });
          } catch (err) {
            return answer(400, { text: 'Invalid data format', code: 6, detail: (err as Error).message });
          }
        }
        if (path === '/api/v2/logs') {
          if (req.headers['dd-api-key'] !== opts.ddApiKey) return answer(403, { errors: ['Forbidden'] });
          if (!String(req.headers['content-type']).startsWith('application/json'))
            return answer(400, { errors: ['content-type'] });
          if (Buffer.byteLength(body) > MAX_DD_BYTES) return answer(413, { errors: ['Payload too large'] });
          const arr = JSON.parse(body) as Record<string, unknown>[];
          if (
            !Array.isArray(arr) ||
            arr.length > 1000 ||
            arr.some(
              (e) => typeof e.message !== 'string' || typeof e.ddsource !== 'string' || typeof e.service !== 'string',
            )
          )
            return answer(400, { errors: ['bad entries'] });
          siem.datadog.push(...arr);
          return answer(202, {});
        }
        if (path === '/hook') {
          const secret = opts.webhookSecret();
          const sig = String(req.headers['palisade-signature'] ?? '');
          const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
          if (!secret || !m) return answer(401, { error: 'missing signature' });
          const t = Number(m[1]);
          const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
          if (!timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'))) return answer(401, { error: 'bad signature' });
          if (Math.abs((opts.now?.() ?? new Date()).getTime() / 1000 - t) > 300)
            return answer(401, { error: 'stale timestamp' });
          siem.webhook.push(JSON.parse(body) as { events: Record<string, unknown>[] });
          if (siem.hangWebhookAfter !== null && siem.webhook.length > siem.hangWebhookAfter) return;
          res.writeHead(204).end();
          return;
        }
        return answer(404, { text: 'Not found' });
      });
      await new Promise<void>((resolve) => server!.listen(siem.port, '127.0.0.1', resolve));
      siem.port = (server!.address() as { port: number }).port;
      siem.url = `http://127.0.0.1:${siem.port}`;
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await siem.start();
  return siem;
}
