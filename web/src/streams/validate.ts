import type { CreateStreamInput, StreamKind } from './types';

export type Field = 'name' | 'host' | 'port' | 'url' | 'token' | 'caPem' | 'serverName';
export const SYSLOG: readonly StreamKind[] = ['syslog_tcp', 'syslog_tls'];
export const NEEDS_TOKEN: readonly StreamKind[] = ['splunk_hec', 'datadog'];

/**
 * The API's rules for a new destination (src/streams/streams.ts validate and CreateStreamBody),
 * checked before sending. Whether http:// is allowed and which addresses are reachable is the
 * server's policy: those refusals come back from the API with its message.
 */
export function streamProblems(b: CreateStreamInput): Partial<Record<Field, string>> {
  const p: Partial<Record<Field, string>> = {};
  const name = b.name.trim();
  if (!name) p.name = 'Name the destination.';
  else if (name.length > 100) p.name = 'At most 100 characters.';
  if (SYSLOG.includes(b.kind)) {
    if (!b.host?.trim()) p.host = 'The receiver name or address, e.g. siem.example.com.';
    else if (b.host.length > 255) p.host = 'At most 255 characters.';
    if (b.port === undefined || !Number.isInteger(b.port) || b.port < 1 || b.port > 65535)
      p.port = 'A port from 1 to 65535, e.g. 6514.';
    if ((b.caPem?.length ?? 0) > 20_000) p.caPem = 'At most 20,000 characters.';
    if (b.caPem && !b.caPem.includes('-----BEGIN CERTIFICATE-----'))
      p.caPem = 'A PEM certificate (-----BEGIN CERTIFICATE-----).';
  } else {
    const url = b.url?.trim() ?? '';
    if (!url) p.url = `A ${b.kind === 'webhook' ? 'webhook' : b.kind === 'datadog' ? 'Datadog intake' : 'HEC'} URL.`;
    else {
      try {
        const u = new URL(url);
        if (u.protocol !== 'https:' && u.protocol !== 'http:') p.url = 'Use an https:// URL.';
        else if (u.username || u.password) p.url = 'Put the token in the token field, not in the URL.';
      } catch {
        p.url = 'Not a URL; use https://…';
      }
    }
    if (url.length > 2000) p.url = 'At most 2000 characters.';
    if (NEEDS_TOKEN.includes(b.kind)) {
      const t = b.token ?? '';
      if (t.length < 8 || t.length > 500)
        p.token = `The ${b.kind === 'datadog' ? 'Datadog API key' : 'HEC token'} (8 to 500 characters).`;
    }
  }
  return p;
}
