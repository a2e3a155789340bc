import { createHmac } from 'node:crypto';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import type { AuditEvent } from '../audit/event.js';
import type { PalisadeConfig } from '../config.js';
import { PalisadeError } from '../errors.js';
import { guardedConnectOptions, outboundRequest } from '../net/outbound.js';
import { type StreamFormat, formatBody, toSyslog } from './formats.js';

export type StreamKind = 'syslog_tcp' | 'syslog_tls' | 'splunk_hec' | 'datadog' | 'webhook';

export interface StreamSettings {
  /** HTTP kinds: the endpoint URL (HEC base URL, Datadog intake URL, webhook URL). */
  url?: string;
  /** Syslog kinds. */
  host?: string;
  port?: number;
  /** syslog_tls: PEM of the CA that signs the receiver's certificate (system CAs when absent). */
  caPem?: string;
  /** syslog_tls: name to check the certificate against (defaults to host). */
  serverName?: string;
  /** Splunk: index, source type. Datadog: service, tags. */
  index?: string;
  sourcetype?: string;
  service?: string;
  tags?: string;
}

export interface Destination {
  id: string;
  kind: StreamKind;
  format: StreamFormat;
  settings: StreamSettings;
  secret: string | null;
}

/** What the receiver answered: kept verbatim (truncated) for "send test event" and health. */
export interface DeliveryResult {
  ok: boolean;
  /** A permanent refusal (4xx other than 408/429): retrying the same batch cannot succeed. */
  permanent?: boolean;
  status?: number;
  response?: string;
  error?: string;
}

const TIMEOUT_MS = 10_000;
const MAX_RESPONSE = 2000;
const LOCAL_HOST = osHostname();

/** How a batch is sent. */
export interface DeliverOptions {
  /**
   * The batch was in flight when the process sending it stopped (crash, lost lease): the receiver
   * may have some of it already. Marked on every transport so a SIEM can tell a redelivery from a
   * new event without keeping state (see docs/audit-streams.md, "Redelivery").
   */
  redelivery?: boolean;
}

/**
 * What one HTTP request may carry. A batch larger than this goes out as several requests, in order;
 * the batch counts as delivered when all are accepted. Datadog's intake takes at most 1,000 entries
 * and 5 MB per request; Splunk Cloud's HEC refuses bodies over 1 MB by default; webhook receivers
 * are told the limit in docs/audit-streams.md.
 */
export const REQUEST_LIMITS = {
  splunk_hec: { events: 1_000, bytes: 1_000_000 },
  datadog: { events: 1_000, bytes: 4_500_000 },
  webhook: { events: 1_000, bytes: 4_000_000 },
} as const;

/** A batch formatted for its destination, ready to send: formatting the next batch overlaps sending this one. */
export interface PreparedBatch {
  events: number;
  /** Sends it; never throws (a refusal or network error is a failed result). */
  send(): Promise<DeliveryResult>;
}

/**
 * Formats one batch for its destination (syslog frames, HEC objects, Datadog entries, webhook
 * events), split into requests within REQUEST_LIMITS. Throws only on a programming error.
 */
export function prepareBatch(
  config: PalisadeConfig,
  dest: Destination,
  events: AuditEvent[],
  now: Date,
  options: DeliverOptions = {},
): PreparedBatch {
  const redelivery = options.redelivery === true;
  const guarded = (send: () => Promise<DeliveryResult>) => async (): Promise<DeliveryResult> => {
    try {
      return await send();
    } catch (err) {
      // Palisade's own refusals (outbound policy, sealed credentials) already say what to do.
      return {
        ok: false,
        error: err instanceof PalisadeError ? `${err.code}: ${err.message}` : explainError(dest, err),
      };
    }
  };
  switch (dest.kind) {
    case 'syslog_tcp':
    case 'syslog_tls': {
      // One string, one buffer for the batch (not three buffers per message): the same bytes as frameOctetCounted.
      const payload = Buffer.from(
        events
          .map((e) => {
            const message = toSyslog(e, dest.format, LOCAL_HOST, redelivery);
            return `${Buffer.byteLength(message)} ${message}`;
          })
          .join(''),
        'utf8',
      );
      return { events: events.length, send: guarded(() => sendSyslog(config, dest, payload, events.length)) };
    }
    case 'splunk_hec': {
      const url = new URL('/services/collector/event', dest.settings.url).toString();
      const headers = { authorization: `Splunk ${dest.secret ?? ''}`, 'content-type': 'application/json' };
      const chunks = chunk(
        events.map((e) => hecEntry(dest, e, redelivery)),
        REQUEST_LIMITS.splunk_hec,
      );
      return {
        events: events.length,
        send: guarded(() => sendAll(chunks, (entries) => sendHttp(config, dest, url, entries.join('\n'), headers))),
      };
    }
    case 'datadog': {
      const headers = { 'dd-api-key': dest.secret ?? '', 'content-type': 'application/json' };
      const chunks = chunk(
        datadogBody(dest, events, redelivery).map((e) => JSON.stringify(e)),
        REQUEST_LIMITS.datadog,
      );
      return {
        events: events.length,
        send: guarded(() =>
          sendAll(chunks, (entries) =>
            sendHttp(config, dest, dest.settings.url ?? '', `[${entries.join(',')}]`, headers),
          ),
        ),
      };
    }
    case 'webhook': {
      const format = dest.format === 'cef' ? 'palisade' : dest.format;
      const chunks = chunk(
        events.map((e) => formatBody(e, format)),
        REQUEST_LIMITS.webhook,
      );
      return {
        events: events.length,
        send: guarded(() =>
          sendAll(chunks, (bodies) => {
            // {"events":[…]} (plus "redelivery":true): each element is the event exactly as formatBody wrote it.
            const body = `{${redelivery ? '"redelivery":true,' : ''}"events":[${bodies.join(',')}]}`;
            return sendHttp(config, dest, dest.settings.url ?? '', body, {
              'content-type': 'application/json',
              ...(redelivery ? { 'palisade-redelivery': 'true' } : {}),
              ...webhookSignatureHeaders(dest.secret ?? '', body, now),
            });
          }),
        ),
      };
    }
  }
}

/**
 * Sends one batch. Every connection goes through the outbound policy (src/net/outbound.ts): the
 * host is resolved once, checked, and connected to at the checked address; redirects are not
 * followed. Never throws: a refusal or network error is a failed DeliveryResult.
 */
export async function deliver(
  config: PalisadeConfig,
  dest: Destination,
  events: AuditEvent[],
  now: Date,
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  try {
    return await prepareBatch(config, dest, events, now, options).send();
  } catch (err) {
    return { ok: false, error: err instanceof PalisadeError ? `${err.code}: ${err.message}` : explainError(dest, err) };
  }
}

/** Splits serialized entries into requests of at most `limits` (count and bytes); at least one entry per request, however large. */
function chunk(entries: string[], limits: { events: number; bytes: number }): string[][] {
  const out: string[][] = [];
  let start = 0;
  while (start < entries.length) {
    let end = start;
    let bytes = 0;
    while (end < entries.length && end - start < limits.events) {
      const size = Buffer.byteLength(entries[end] as string) + 1;
      if (end > start && bytes + size > limits.bytes) break;
      bytes += size;
      end++;
    }
    out.push(entries.slice(start, end));
    start = end;
  }
  return out;
}

/** Sends the requests of a batch one after another; stops at the first failure. */
async function sendAll(
  chunks: string[][],
  send: (chunk: string[]) => Promise<DeliveryResult>,
): Promise<DeliveryResult> {
  let last: DeliveryResult = { ok: true };
  for (const c of chunks) {
    last = await send(c);
    if (!last.ok) return last;
  }
  return last;
}

const CERT_NOT_TRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/**
 * What an admin reads in health.lastError and in "send test event": the receiver, the low-level
 * reason (fetch's own message is only "fetch failed", the reason is in its cause) and, for the
 * usual setup mistakes, what to change. Only the URL's scheme and host: a path or query string may carry a token.
 */
export function explainError(dest: Pick<Destination, 'kind' | 'settings'>, err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const cause = e.cause instanceof Error ? (e.cause as Error & { code?: string }) : undefined;
  const inner = (cause ?? e) as Error & { code?: string };
  const syslog = dest.kind === 'syslog_tcp' || dest.kind === 'syslog_tls';
  let where = syslog ? `${dest.settings.host ?? ''}:${dest.settings.port ?? ''}` : '';
  if (!syslog && dest.settings.url) {
    try {
      const u = new URL(dest.settings.url);
      where = `${u.protocol}//${u.host}`;
    } catch {
      where = '(invalid URL)';
    }
  }
  if (e.name === 'TimeoutError' || inner.name === 'TimeoutError')
    return `${dest.kind} receiver ${where} did not answer within ${TIMEOUT_MS / 1000}s`;
  let text = inner.message;
  if (!syslog && (cause || inner.code) && !text.includes(where))
    text = `${dest.kind} receiver ${where} could not be reached: ${text}`;
  if (inner.code && CERT_NOT_TRUSTED.has(inner.code)) {
    text +=
      dest.kind === 'syslog_tls'
        ? ". Set caPem to the CA that signed the receiver's certificate."
        : ". The receiver's certificate is not signed by a CA this server trusts (NODE_EXTRA_CA_CERTS adds one).";
  } else if (inner.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    text += dest.kind === 'syslog_tls' ? ". Set serverName (or host) to a name in the receiver's certificate." : '';
  } else if (inner.code === 'ECONNRESET' && dest.kind === 'syslog_tcp') {
    text += '. If that port expects TLS (RFC 5425, usually 6514), use kind syslog_tls.';
  } else if (inner.code === 'ECONNREFUSED') {
    text += '. Nothing is listening there: is the receiver running?';
  }
  return text;
}

// --- Splunk HTTP Event Collector: concatenated JSON event objects in one request ---------------
/** One HEC event object; a redelivery carries the indexed field `palisade_redelivery`. */
export function hecEntry(dest: Destination, e: AuditEvent, redelivery = false): string {
  const sourcetype = dest.settings.sourcetype ?? (dest.format === 'ocsf' ? 'palisade:ocsf' : 'palisade:audit');
  // Built as text around the already serialized event (the same JSON as stringifying the object).
  const head = `{"time":${Date.parse(e.occurredAt) / 1000},"host":${JSON.stringify(LOCAL_HOST)},"source":"palisade","sourcetype":${JSON.stringify(sourcetype)}${dest.settings.index ? `,"index":${JSON.stringify(dest.settings.index)}` : ''}`;
  return `${head},"event":${formatBody(e, dest.format === 'cef' ? 'palisade' : dest.format)}${redelivery ? ',"fields":{"palisade_redelivery":"true"}' : ''}}`;
}

export function hecBody(dest: Destination, events: AuditEvent[], redelivery = false): string {
  return events.map((e) => hecEntry(dest, e, redelivery)).join('\n');
}

// --- Datadog Logs API v2: a JSON array of log entries --------------------------------------------
export function datadogBody(dest: Destination, events: AuditEvent[], redelivery = false): Record<string, unknown>[] {
  return events.map((e) => ({
    ddsource: 'palisade',
    ddtags: [
      `org:${e.orgId}`,
      `outcome:${e.outcome}`,
      ...(redelivery ? ['palisade_redelivery:true'] : []),
      ...(dest.settings.tags ? [dest.settings.tags] : []),
    ].join(','),
    hostname: LOCAL_HOST,
    service: dest.settings.service ?? 'palisade-audit',
    message: formatBody(e, dest.format),
  }));
}

// --- Webhook signature (documented in docs/audit-streams.md) -----------------------------------
/**
 * `Palisade-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. The receiver
 * recomputes it, compares in constant time, refuses timestamps older than 5 minutes (replay), and
 * deduplicates by event id (at-least-once delivery).
 */
export function webhookSignatureHeaders(secret: string, body: string, now: Date): Record<string, string> {
  const t = Math.floor(now.getTime() / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return { 'palisade-signature': `t=${t},v1=${v1}` };
}

async function sendHttp(
  config: PalisadeConfig,
  dest: Destination,
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<DeliveryResult> {
  const res = await outboundRequest(config, url, {
    method: 'POST',
    body,
    headers: { 'user-agent': 'Palisade-Audit-Stream/1', ...headers },
    timeoutMs: TIMEOUT_MS,
    maxBytes: MAX_RESPONSE,
  });
  const status = res.status;
  const text = res.body.toString('utf8');
  if (status >= 200 && status < 300) return { ok: true, status, response: text };
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  // Redirects are never followed: the next hop could be an address the outbound policy refuses.
  const redirect =
    status >= 300 && status < 400
      ? ` (redirects are not followed; set the destination URL to the final address${res.headers.location ? `, not the one redirecting to ${String(res.headers.location).slice(0, 200)}` : ''})`
      : '';
  return {
    ok: false,
    permanent,
    status,
    response: text,
    error: `${dest.kind} answered HTTP ${status}${redirect}: ${text.slice(0, 300)}`,
  };
}

async function sendSyslog(
  config: PalisadeConfig,
  dest: Destination,
  payload: Buffer,
  count: number,
): Promise<DeliveryResult> {
  const { port = dest.kind === 'syslog_tls' ? 6514 : 514 } = dest.settings;
  // Refuses a denied IP literal here; a name is resolved and checked by the lookup hook at connect time.
  const target = guardedConnectOptions(config, dest.settings.host ?? '');
  const host = target.host;
  await new Promise<void>((resolve, reject) => {
    let socket: Socket;
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    const onReady = () => {
      // end() flushes and half-closes; 'close' after the peer's FIN means the bytes were taken.
      socket.end(payload);
    };
    if (dest.kind === 'syslog_tls') {
      socket = tlsConnect(
        {
          ...target,
          port,
          ...(dest.settings.serverName || !isIP(host) ? { servername: dest.settings.serverName ?? host } : {}),
          ...(dest.settings.caPem ? { ca: dest.settings.caPem } : {}),
        },
        onReady,
      );
    } else {
      socket = netConnect({ ...target, port }, onReady);
    }
    socket.setTimeout(TIMEOUT_MS, () =>
      fail(
        new Error(
          `syslog receiver ${host}:${port} did not answer within ${TIMEOUT_MS / 1000}s${dest.kind === 'syslog_tls' ? ' (a plain-TCP syslog port never completes a TLS handshake: check that this port is the TLS listener, or use kind syslog_tcp)' : ''}`,
        ),
      ),
    );
    socket.on('error', fail);
    socket.on('data', () => undefined);
    socket.on('close', (hadError) => (hadError ? undefined : resolve()));
  });
  return { ok: true, response: `${count} message(s) written to ${host}:${port}` };
}
