import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { PalisadeConfig } from '../config.js';
import { open, seal } from '../crypto/aead.js';
import { keyProviderFor } from '../crypto/provider.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { newId } from '../ids.js';
import type { EmailOutboxTable } from './tables.js';
import type { RenderedEmail } from './templates.js';
import { emailConfigured } from './transport.js';

/**
 * The send queue. A message is written in the same transaction as what caused it (an invitation,
 * a reset request), so it exists exactly when that change does; the `email.deliver` job sends it.
 *
 * Bodies carry one-time links, which are credentials: each body is sealed (AES-256-GCM) under a key
 * of its own, wrapped by the installation's key-encryption key, and erased once the message is sent
 * or dead. A database copy therefore yields no usable link.
 */
const aad = (id: string) => Buffer.from(`palisade-email|v1|email_outbox|${id}`);

export const emailNotConfigured = (what: string, alternative = '') =>
  new PalisadeError(
    409,
    'email_not_configured',
    `${what} needs email, and this installation has no mail server configured. The operator sets PALISADE_SMTP_URL and PALISADE_SMTP_FROM (see docs/email.md) and checks them with \`palisade email test --to you@example.com\`.${alternative}`,
  );

export interface OutgoingEmail {
  /** The organization the message concerns: its admins see it if it cannot be delivered. */
  orgId: string | null;
  template: string;
  to: string;
  content: RenderedEmail;
}

export async function enqueueEmail(
  db: Queryable,
  config: PalisadeConfig,
  now: Date,
  m: OutgoingEmail,
): Promise<{ id: string }> {
  if (!emailConfigured(config)) throw emailNotConfigured('Sending this message');
  const id = newId('eml', now);
  const key = randomBytes(32);
  const body = seal(key, Buffer.from(JSON.stringify(m.content), 'utf8'), aad(id));
  const { kekId, wrapped } = await keyProviderFor(config).wrap(key, aad(id));
  const domain = /@([^>\s]+)>?\s*$/.exec(config.smtpFrom)?.[1] ?? hostname();
  await db
    .insertInto('email_outbox')
    .values({
      id,
      org_id: m.orgId,
      template: m.template,
      to_address: m.to,
      body_ct: body.toString('base64'),
      body_key: wrapped.toString('base64'),
      kek_id: kekId,
      status: 'queued',
      attempts: 0,
      next_attempt_at: now.toISOString(),
      lease_owner: null,
      lease_until: null,
      last_error: null,
      message_id: `<${id}.${randomBytes(6).toString('hex')}@${domain}>`,
      created_at: now.toISOString(),
      sent_at: null,
      dead_at: null,
    })
    .execute();
  return { id };
}

/** The rendered message, or null when it cannot be opened (erased, tampered with, or its KEK is gone). */
export async function openEmailBody(
  config: PalisadeConfig,
  row: Pick<EmailOutboxTable, 'id' | 'body_ct' | 'body_key' | 'kek_id'>,
): Promise<RenderedEmail | null> {
  if (!row.body_ct || !row.body_key || !row.kek_id) return null;
  try {
    const key = await keyProviderFor(config).unwrap(row.kek_id, Buffer.from(row.body_key, 'base64'), aad(row.id));
    return JSON.parse(open(key, Buffer.from(row.body_ct, 'base64'), aad(row.id)).toString('utf8')) as RenderedEmail;
  } catch {
    return null;
  }
}

export const processOwner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
