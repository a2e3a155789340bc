import type { CodeWithStatus } from '../error-catalog.js';
import { isIP } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import { parse } from 'tldts';
import { badRequest } from '../errors.js';

export interface NormalizedDomain {
  /** ASCII (punycode) form used everywhere inside Palisade and in DNS. */
  ascii: string;
  /** The same name for people to read (IDN labels decoded). */
  unicode: string;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const MAX_INPUT = 300;

const invalid = (code: CodeWithStatus<400>, raw: string, why: string) =>
  badRequest(code, `"${show(raw)}" cannot be added as a domain: ${why}`, { input: show(raw) });

/** Echoes input back safely: bounded, control characters removed. */
function show(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.slice(0, 100).replace(/[\u0000-\u001f\u007f]/g, '?');
}

/**
 * Turns what an admin typed into the one form Palisade stores: lower case, no trailing dot, IDN as
 * punycode. Refuses, with the reason, anything that is not a registrable domain or a name under one:
 * URLs, email addresses, IP addresses, wildcards, single labels and public suffixes (co.uk, github.io).
 */
export function normalizeDomain(raw: string): NormalizedDomain {
  if (typeof raw !== 'string')
    throw invalid('invalid_domain', String(raw), 'send the domain name as a string, for example example.com.');
  const input = raw.trim();
  if (!input) throw invalid('invalid_domain', raw, 'the name is empty; enter a domain such as example.com.');
  if (input.length > MAX_INPUT) throw invalid('invalid_domain', raw, 'a domain name has at most 253 characters.');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input) || /[/?#]/.test(input)) {
    throw invalid(
      'domain_is_url',
      raw,
      'this looks like a URL; enter only the domain name, for example example.com (no https://, path or query).',
    );
  }
  if (input.includes('@'))
    throw invalid('domain_is_email', raw, 'this looks like an email address; enter only the part after the @.');
  if (input.includes('*')) {
    throw invalid(
      'domain_is_wildcard',
      raw,
      'wildcards are not accepted; add the parent domain and turn on includeSubdomains to cover the names under it.',
    );
  }
  const bare = input.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) || isIP(bare.replace(/\.$/, '')))
    throw invalid('domain_is_ip', raw, 'IP addresses cannot be verified with DNS TXT records; enter a domain name.');
  if (/\s/.test(input)) throw invalid('invalid_domain', raw, 'a domain name contains no spaces.');
  if (input.includes(':'))
    throw invalid(
      'invalid_domain',
      raw,
      'a domain name contains no port or colon; enter only the name, for example example.com.',
    );
  const noDot = input.endsWith('.') ? input.slice(0, -1) : input;
  if (!noDot || noDot.includes('..') || noDot.startsWith('.'))
    throw invalid('invalid_domain', raw, 'a domain name has no empty labels (two dots in a row, or a leading dot).');
  const ascii = domainToASCII(noDot.toLowerCase());
  if (!ascii)
    throw invalid(
      'invalid_domain',
      raw,
      'this is not a valid domain name (internationalized names must convert to punycode; check for stray characters).',
    );
  if (ascii.length > 253) throw invalid('invalid_domain', raw, 'a domain name has at most 253 characters.');
  const labels = ascii.split('.');
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined) {
    throw invalid(
      'invalid_domain',
      raw,
      `the label "${show(bad)}" is not valid; labels are 1 to 63 letters, digits or hyphens and do not start or end with a hyphen.`,
    );
  }
  if (isIP(ascii))
    throw invalid('domain_is_ip', raw, 'IP addresses cannot be verified with DNS TXT records; enter a domain name.');
  if (labels.length < 2)
    throw invalid(
      'domain_is_public_suffix',
      raw,
      'a single-label name is not a domain an organization can own; enter a full domain such as example.com.',
    );
  if (/^\d+$/.test(labels[labels.length - 1] as string))
    throw invalid('invalid_domain', raw, 'the last label of a domain name is not all digits.');
  const parsed = parse(ascii, { allowPrivateDomains: true });
  if (parsed.isIp)
    throw invalid('domain_is_ip', raw, 'IP addresses cannot be verified with DNS TXT records; enter a domain name.');
  if (!parsed.domain || parsed.publicSuffix === ascii) {
    throw invalid(
      'domain_is_public_suffix',
      raw,
      `${ascii} is a public suffix (names under it belong to many different owners), so no organization can verify it; enter your own domain under it, for example example.${ascii}.`,
    );
  }
  return { ascii, unicode: domainToUnicode(ascii) || ascii };
}

/** The domain part of an email address, normalized like a domain; undefined when it cannot be a domain. */
export function emailDomain(email: string): string | undefined {
  const at = email.lastIndexOf('@');
  if (at < 0) return undefined;
  try {
    return normalizeDomain(email.slice(at + 1)).ascii;
  } catch {
    return undefined;
  }
}
