/**
 * The diagnosis codes and hints of a domain check (src/domains/diagnosis.ts) in words. The API's
 * `message` already explains the case in full; these name each part on its own line of the page.
 */
export const CODE_WORDS: Record<string, string> = {
  verified: 'The record is published with the expected value.',
  record_name_not_found: 'The record name does not exist in DNS (NXDOMAIN).',
  no_txt_records: 'The record name exists but has no TXT record.',
  value_mismatch: 'TXT records were found, but none holds the expected value.',
  cname_elsewhere: 'The record name is an alias (CNAME) to a name without the expected value.',
  cname_loop: 'The record name is an alias (CNAME) chain that loops or is too long.',
  dns_timeout: "The domain's name servers did not answer in time (a DNS problem, not a verdict on the record).",
  dns_server_failure: "The domain's name servers failed to answer (a DNS problem, not a verdict on the record).",
  dns_resolver_failure: "Palisade's own DNS resolver failed (the operator must fix it; not a verdict on the record).",
};

export const NEAR_MISS_WORDS: Record<string, string> = {
  surrounding_quotes:
    'It includes quote characters as part of the text: many DNS consoles add the quotes themselves, so enter the value without them.',
  whitespace: 'It contains spaces or line breaks: remove them.',
  split_across_strings: 'It is split into several strings: put the whole value in one string.',
  letter_case: 'It differs only in upper/lower case: copy the value exactly.',
  zone_file_line:
    'It is a whole zone-file line (name, TTL, IN TXT and the value) pasted into the value field: enter only the value.',
  extra_text: 'It contains the value with other text around it: the record must hold the value alone.',
  older_token:
    'It is an older verification value of this organization for this domain: replace it with the current value.',
  token_for_other_domain:
    "It is this organization's verification value for a different domain: each domain has its own.",
  other_organization_token:
    'It is a verification value issued to a different Palisade organization: copy the value shown on this page.',
};

export const PLACE_WORDS: Record<string, string> = {
  apex: 'at the domain itself (the zone apex, "@")',
  missing_underscore: 'under the record name without its leading underscore',
  prefix_variant: 'under a misspelt record name',
  doubled_zone: 'under the record name with the domain repeated (the DNS console appended the zone again)',
  parent_domain: 'under the parent domain instead of this subdomain',
};

export const STATUS_WORDS: Record<string, string> = {
  pending: 'Waiting for the DNS record',
  verified: 'Verified',
  failing: 'Failing (grace period)',
  expired: 'Expired',
};

/**
 * Dark shades: white text on them passes WCAG AA contrast (Mantine's orange.9 and yellow.9 do not,
 * hence a darker orange of its own).
 */
export const WARN_COLOR = '#9a3412';
export const STATUS_COLOR: Record<string, string> = {
  pending: 'gray.8',
  verified: 'teal.9',
  failing: WARN_COLOR,
  expired: 'red.9',
};

export const when = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—';
