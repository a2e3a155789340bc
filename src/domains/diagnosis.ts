import type { TxtLookup } from './dns-check.js';

/** Stable codes a client can switch on. */
export const DIAGNOSIS_CODES = ['verified', 'record_name_not_found', 'no_txt_records', 'value_mismatch', 'cname_elsewhere', 'dns_timeout', 'dns_server_failure'] as const;
export type DiagnosisCode = (typeof DIAGNOSIS_CODES)[number];

export const NEAR_MISS_FLAGS = ['surrounding_quotes', 'whitespace', 'split_across_strings', 'letter_case', 'older_token', 'token_for_other_domain', 'other_organization_token'] as const;
export type NearMiss = (typeof NEAR_MISS_FLAGS)[number];

export interface FoundValue {
  /** The record's strings joined, as a DNS tool shows it. */
  value: string;
  /** The character-strings the record holds (more than one means the value is split). */
  strings: string[];
  nearMiss: NearMiss[];
}

export interface Diagnosis {
  code: DiagnosisCode;
  ok: boolean;
  domain: string;
  recordType: 'TXT';
  recordName: string;
  expectedValue: string;
  found: FoundValue[];
  cnameTarget: string | null;
  /** True when the problem is the DNS service rather than the record: retry later. */
  dnsSide: boolean;
  message: string;
  checkedAt: string;
}

/** What Palisade knows about a value someone published: who it was issued to. */
export type TokenOwner = { sameOrg: true; domainName: string; current: boolean } | { sameOrg: false };
export type TokenLookup = (value: string) => Promise<TokenOwner | undefined>;

const MAX_FOUND = 20;
const MAX_VALUE = 300;
const clip = (s: string) => (s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE)}…` : s);
const quote = (s: string) => JSON.stringify(clip(s));

const stripQuotes = (s: string) => {
  const m = /^\s*(?:"(.*)"|'(.*)'|\\"(.*)\\")\s*$/s.exec(s);
  return m ? (m[1] ?? m[2] ?? m[3] ?? s) : s;
};

/** Compares one published record with the expected value; a miss that is close gets named flags. */
async function judge(strings: string[], expected: string, domainName: string, owners: TokenLookup): Promise<{ match: boolean; found: FoundValue }> {
  const joined = strings.join('');
  if (strings.length === 1 && joined === expected) return { match: true, found: { value: clip(joined), strings: strings.map(clip), nearMiss: [] } };
  const flags: NearMiss[] = [];
  let candidate = joined;
  if (strings.length > 1) flags.push('split_across_strings');
  const unquoted = stripQuotes(candidate);
  if (unquoted !== candidate) {
    flags.push('surrounding_quotes');
    candidate = unquoted;
  }
  const compact = candidate.replace(/\s+/g, '');
  if (compact !== candidate) {
    flags.push('whitespace');
    candidate = compact;
  }
  const near: NearMiss[] = [];
  if (candidate === expected) near.push(...flags);
  else if (candidate.toLowerCase() === expected.toLowerCase()) near.push(...flags, 'letter_case');
  else {
    const owner = await owners(candidate);
    if (owner) {
      const who: NearMiss = !owner.sameOrg ? 'other_organization_token' : owner.domainName === domainName ? 'older_token' : 'token_for_other_domain';
      near.push(...flags, who);
    }
  }
  return { match: false, found: { value: clip(joined), strings: strings.map(clip), nearMiss: near } };
}

const HINT: Record<NearMiss, string> = {
  surrounding_quotes: 'it includes quote characters as part of the text (many DNS consoles add the quotes themselves; enter the value without them)',
  whitespace: 'it contains spaces or line breaks; remove them',
  split_across_strings: 'it is split into several strings; put the whole value in one string',
  letter_case: 'it differs only in upper/lower case; copy the value exactly',
  older_token: 'it is an older verification value of this organization for this domain (a new value was issued when the domain was added again); replace it with the current value',
  token_for_other_domain: "it is this organization's verification value for a different domain; each domain has its own value",
  other_organization_token: 'it is a verification value issued to a different Palisade organization; make sure you copied the value shown for this organization',
};

export async function diagnose(input: { domain: string; recordName: string; expected: string; lookup: TxtLookup; owners: TokenLookup; checkedAt: string }): Promise<Diagnosis> {
  const { domain, recordName, expected, lookup } = input;
  const base = { domain, recordType: 'TXT' as const, recordName, expectedValue: expected, checkedAt: input.checkedAt };
  const add = `Add a TXT record named ${recordName} with the value ${quote(expected)}, wait for it to reach the DNS, then check again.`;
  switch (lookup.kind) {
    case 'nxdomain':
      return {
        ...base,
        code: 'record_name_not_found',
        ok: false,
        found: [],
        cnameTarget: null,
        dnsSide: false,
        message: `${domain} is not verified: the name ${recordName} does not exist in DNS (NXDOMAIN), so no TXT record was found. ${lookup.domainExists ? '' : `The domain ${domain} itself does not exist in DNS either: check its spelling, and that it is registered and its name servers are set. `}${add}`,
      };
    case 'nodata':
      if (lookup.cname) {
        return { ...base, code: 'cname_elsewhere', ok: false, found: [], cnameTarget: lookup.cname, dnsSide: false, message: `${domain} is not verified: ${recordName} is an alias (CNAME) for ${lookup.cname}, which has no TXT record, so the expected value ${quote(expected)} was not found. Remove the CNAME and add the TXT record at ${recordName} itself, or publish the value at ${lookup.cname}.` };
      }
      return { ...base, code: 'no_txt_records', ok: false, found: [], cnameTarget: null, dnsSide: false, message: `${domain} is not verified: the name ${recordName} exists but has no TXT records (only other record types). ${add}` };
    case 'timeout':
      return { ...base, code: 'dns_timeout', ok: false, found: [], cnameTarget: null, dnsSide: true, message: `${domain} could not be checked: the DNS resolver ${lookup.detail === 'ECONNREFUSED' ? 'could not be reached (connection refused)' : 'did not answer in time'} for TXT ${recordName} (expected value ${quote(expected)}). This is a DNS-side problem, not a verdict on your record; retry in a few minutes, and if it persists check that the domain's name servers answer.` };
    case 'server_failure':
      return { ...base, code: 'dns_server_failure', ok: false, found: [], cnameTarget: null, dnsSide: true, message: `${domain} could not be checked: the DNS resolver failed (${lookup.detail}) while looking up TXT ${recordName} (expected value ${quote(expected)}). This is a DNS-side problem (SERVFAIL or refused), not a verdict on your record; retry in a few minutes, and if it persists ask whoever runs the domain's name servers.` };
    case 'records': {
      if (lookup.records.length === 0 && !lookup.cname) return diagnose({ ...input, lookup: { kind: 'nodata', cname: null } });
      const found: FoundValue[] = [];
      let matched = false;
      for (const strings of lookup.records.slice(0, MAX_FOUND)) {
        const j = await judge(strings, expected, domain, input.owners);
        matched ||= j.match;
        found.push(j.found);
      }
      if (matched) {
        const via = lookup.cname ? ` (through the alias ${lookup.cname})` : '';
        return { ...base, code: 'verified', ok: true, found, cnameTarget: lookup.cname, dnsSide: false, message: `${domain} is verified: ${recordName} has the TXT value ${quote(expected)}${via}.` };
      }
      const list = found.length ? found.map((f) => quote(f.value)).join(', ') : 'nothing';
      const hints = found
        .filter((f) => f.nearMiss.length)
        .map((f) => `The value ${quote(f.value)} is close: ${f.nearMiss.map((n) => HINT[n]).join('; ')}.`)
        .join(' ');
      if (lookup.cname) {
        return { ...base, code: 'cname_elsewhere', ok: false, found, cnameTarget: lookup.cname, dnsSide: false, message: `${domain} is not verified: ${recordName} is an alias (CNAME) for ${lookup.cname}, whose TXT records are ${list}, none of them the expected value ${quote(expected)}. Remove the CNAME and add the TXT record at ${recordName}, or publish the value at ${lookup.cname}.${hints ? ` ${hints}` : ''}` };
      }
      return { ...base, code: 'value_mismatch', ok: false, found, cnameTarget: null, dnsSide: false, message: `${domain} is not verified: ${recordName} has ${found.length} TXT record(s), but none is the expected value ${quote(expected)}. Found: ${list}.${hints ? ` ${hints}` : ' Replace the record with the expected value.'}` };
    }
  }
}
