/** The send queue (src/email/outbox.ts): one row per message, leased per message while it is sent. */
export interface EmailOutboxTable {
  id: string;
  org_id: string | null;
  /** Which template rendered it: `invitation`, `password_reset`, … (never the body itself). */
  template: string;
  to_address: string;
  /** Sealed `{ subject, text, html }`; null once sent or dead and erased. */
  body_ct: string | null;
  /** The per-message key, wrapped by the installation's key-encryption key. */
  body_key: string | null;
  kek_id: string | null;
  status: EmailStatus;
  attempts: number;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  last_error: string | null;
  /** The Message-ID header: the same on every attempt, so a receiver can drop a duplicate. */
  message_id: string;
  created_at: string;
  sent_at: string | null;
  dead_at: string | null;
}

/** queued → sending → sent; after the last failed attempt → dead (an admin may retry it). */
export type EmailStatus = 'queued' | 'sending' | 'sent' | 'dead';

export interface EmailTables {
  email_outbox: EmailOutboxTable;
}
