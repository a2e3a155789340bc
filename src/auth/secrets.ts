import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * High-entropy bearer secrets: `pls_<kind>_<43 base64url chars>` (256 bits). The kind prefix lets
 * secret scanners and people recognise a Palisade credential; only the SHA-256 is stored.
 */
export type SecretKind = 'ses' | 'pat' | 'lnk' | 'scim' | 'gwk' | 'cmp';

export function generateSecret(kind: SecretKind): string {
  return `pls_${kind}_${randomBytes(32).toString('base64url')}`;
}

export function secretKind(secret: string): SecretKind | null {
  const m = /^pls_(ses|pat|lnk|scim|gwk|cmp)_[A-Za-z0-9_-]{43}$/.exec(secret);
  return m ? (m[1] as SecretKind) : null;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What a list shows to identify a token without revealing it. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, 'pls_pat_'.length + 6);
}

export function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** CSRF token bound to a session secret: derivable, so nothing extra is stored, and useless without the cookie. */
export function csrfTokenFor(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('palisade-csrf-v1').digest('base64url');
}
