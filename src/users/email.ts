import { badRequest } from '../errors.js';

/** Emails compare case-insensitively everywhere in Palisade; they are stored lower-cased. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw badRequest('invalid_email', `"${raw.slice(0, 100)}" is not an email address; use the form name@example.com.`);
  }
  return email;
}
