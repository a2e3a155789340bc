import type { ErrorCodeCatalog } from '../errors.js';

/** Verified domains: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const DOMAINS_ERROR_CODES = {
  domain_already_added: {
    status: 409,
    message: '… is already added to this organization. List the domains to see its instructions and state.',
  },
  domain_claimed_by_another_organization: {
    status: 409,
    message:
      '… (or a domain covering it) is already verified by another organization in this Palisade installation, and a domain can belong to one organization only. If your company owns it, ask your IT or DNS team which organization verified it and have that organization remove it, or contact the operator of this Palisade installation.',
  },
  email_domain_captured: {
    status: 403,
    message:
      "Your email address is at …, a domain managed by your organization in Palisade, so it cannot be used for a separate organization. Contact your organization's administrators to get access.",
  },
  too_many_domains: {
    status: 409,
    message:
      'This organization already has … domains, the most one organization can hold. Remove domains you no longer use, then add this one.',
  },
  domain_is_email: {
    status: 400,
    message: 'An email address was given where a domain is expected; give only the part after the @.',
  },
  domain_is_ip: {
    status: 400,
    message: 'An IP address cannot be verified as a domain; give a domain name such as example.com.',
  },
  domain_is_public_suffix: {
    status: 400,
    message: 'The name is a public suffix (like co.uk) that nobody owns; give your registered domain under it.',
  },
  domain_is_url: {
    status: 400,
    message: 'A URL was given where a domain is expected; give only the host name, such as example.com.',
  },
  domain_is_wildcard: {
    status: 400,
    message: 'Wildcards are not domains; add the domain itself and turn on "include subdomains".',
  },
  invalid_domain: {
    status: 400,
    message:
      'The text is not a valid domain name; give a name such as example.com (letters, digits and hyphens per label).',
  },
  too_many_verification_attempts: {
    status: 429,
    message:
      'Too many verification checks for this domain in a short time. DNS changes can take minutes to be visible; wait the seconds in Retry-After (Palisade also re-checks verified domains on its own).',
  },
  too_many_discovery_requests: {
    status: 429,
    message: 'Too many sign-in lookups from your network address. Wait the seconds in Retry-After and try again.',
  },
} as const satisfies ErrorCodeCatalog;
