import nodemailer from 'nodemailer';
import type { PalisadeConfig } from '../config.js';
import type { RenderedEmail } from './templates.js';

/**
 * The SMTP side: one pooled nodemailer transport per configuration. Nothing here queues or retries;
 * the outbox (src/email/outbox.ts) does, so an outage loses nothing.
 */
type Transport = ReturnType<typeof nodemailer.createTransport>;
const transports = new WeakMap<PalisadeConfig, Transport>();

export const emailConfigured = (config: Pick<PalisadeConfig, 'smtpUrl'>): boolean => config.smtpUrl !== '';

function transportFor(config: PalisadeConfig): Transport {
  let t = transports.get(config);
  if (!t) {
    const u = new URL(config.smtpUrl);
    const secure = u.protocol === 'smtps:';
    t = nodemailer.createTransport({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : secure ? 465 : 587,
      secure,
      requireTLS: config.smtpRequireTls && !secure,
      ...(u.username ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } } : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      // Never let nodemailer log: a message body carries one-time links.
      logger: false,
      debug: false,
    });
    transports.set(config, t);
  }
  return t;
}

export function closeTransport(config: PalisadeConfig): void {
  transports.get(config)?.close();
  transports.delete(config);
}

/** Where mail goes, without credentials, for messages and logs. */
export function smtpTarget(config: Pick<PalisadeConfig, 'smtpUrl'>): string {
  try {
    const u = new URL(config.smtpUrl);
    return `${u.protocol}//${u.hostname}:${u.port || (u.protocol === 'smtps:' ? '465' : '587')}`;
  } catch {
    return '(invalid PALISADE_SMTP_URL)';
  }
}

export interface Envelope {
  to: string;
  messageId: string;
  content: RenderedEmail;
}

export async function sendMail(config: PalisadeConfig, e: Envelope): Promise<{ accepted: boolean; response: string }> {
  const info = await transportFor(config).sendMail({
    from: config.smtpFrom,
    to: e.to,
    subject: e.content.subject,
    text: e.content.text,
    html: e.content.html,
    messageId: e.messageId,
  });
  return {
    accepted: info.accepted.length > 0 && info.rejected.length === 0,
    response: String(info.response ?? '').slice(0, 300),
  };
}

/** Turns an SMTP failure into a sentence that says where and what to check; never includes credentials. */
export function explainSmtpError(config: Pick<PalisadeConfig, 'smtpUrl'>, err: unknown): string {
  const target = smtpTarget(config);
  const e = err as { code?: string; responseCode?: number; response?: string; message?: string };
  // nodemailer reports socket failures as ESOCKET/ECONNECTION with the system error in the message.
  const system = /\b(ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ECONNRESET)\b/.exec(e.message ?? '')?.[1];
  const code = system === 'EAI_AGAIN' ? 'ENOTFOUND' : system === 'EHOSTUNREACH' ? 'ETIMEDOUT' : (system ?? e.code);
  if (code === 'ECONNRESET')
    return `The SMTP server at ${target} closed the connection: check that the port speaks SMTP (465 is smtps://, 587 is smtp:// with STARTTLS).`;
  switch (code) {
    case 'ECONNREFUSED':
      return `No SMTP server accepted a connection at ${target}: check that the mail server runs and PALISADE_SMTP_URL names its host and port.`;
    case 'ETIMEDOUT':
    case 'ETIMEOUT':
      return `The SMTP server at ${target} did not answer in time: check the host, the port and any firewall between Palisade and it.`;
    case 'ENOTFOUND':
    case 'EDNS':
      return `The SMTP host in PALISADE_SMTP_URL (${target}) does not resolve: check its spelling.`;
    case 'EAUTH':
      return `The SMTP server at ${target} refused the user name or password in PALISADE_SMTP_URL (${(e.response ?? '').slice(0, 120)}).`;
    case 'ETLS':
    case 'ESOCKET':
      return `The TLS connection to ${target} failed (${(e.message ?? '').slice(0, 160)}): check the port (465 is smtps://, 587 is smtp:// with STARTTLS) and PALISADE_SMTP_REQUIRE_TLS.`;
    case 'EENVELOPE':
      return `The SMTP server at ${target} refused the sender or recipient (${(e.response ?? e.message ?? '').slice(0, 160)}): check PALISADE_SMTP_FROM and the address.`;
    default:
      if (e.responseCode)
        return `The SMTP server at ${target} answered ${e.responseCode}: ${(e.response ?? '').slice(0, 200)}`;
      return `Sending through ${target} failed: ${(e.message ?? String(err)).slice(0, 200)}`;
  }
}

/** A 4xx reply or a network error is worth retrying; a permanent 5xx refusal of the recipient is not. */
export function isPermanentSmtpFailure(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string };
  return typeof e.responseCode === 'number' && e.responseCode >= 500 && e.code === 'EENVELOPE';
}
