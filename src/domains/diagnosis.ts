import type { Responsibility, ResolverOutcome, TxtLookup } from './dns-check.js';

/** Stable codes a client can switch on. */
export const DIAGNOSIS_CODES = [
  'verified',
  'record_name_not_found',
  'no_txt_records',
  'value_mismatch',
  'cname_elsewhere',
  'cname_loop',
  'dns_timeout',
  'dns_server_failure',
  'dns_resolver_failure',
] as const;
export type DiagnosisCode = (typeof DIAGNOSIS_CODES)[number];

export const NEAR_MISS_FLAGS = [
  'surrounding_quotes',
  'whitespace',
  'split_across_strings',
  'letter_case',
  'zone_file_line',
  'extra_text',
  'older_token',
  'token_for_other_domain',
  'other_organization_token',
] as const;
export type NearMiss = (typeof NEAR_MISS_FLAGS)[number];

/** Places a value is commonly published by mistake (see `misplacedNames`). */
export const MISPLACEMENTS = ['apex', 'missing_underscore', 'prefix_variant', 'doubled_zone', 'parent_domain'] as const;
export type Misplacement = (typeof MISPLACEMENTS)[number];

export interface FoundValue {
  /** The record's strings joined, as a DNS tool shows it. */
  value: string;
  /** The character-strings the record holds (more than one means the value is split). */
  strings: string[];
  nearMiss: NearMiss[];
}

/** The expected value, found at a name where it does not count. */
export interface MisplacedValue {
  name: string;
  kind: Misplacement;
  nearMiss: NearMiss[];
}

export interface Diagnosis {
  code: DiagnosisCode;
  ok: boolean;
  domain: string;
  recordType: 'TXT';
  recordName: string;
  expectedValue: string;
  /** The records found (at most MAX_SHOWN; every one of them was compared). */
  found: FoundValue[];
  /** How many TXT records the name has in all. */
  foundTotal: number;
  cnameTarget: string | null;
  /** The aliases followed from the record name, in order. */
  cnameChain: string[];
  /** The expected value published somewhere it does not count (the apex, a mistyped prefix…). */
  elsewhere: MisplacedValue[];
  /** True when the problem is the DNS service rather than the record: retry later. */
  dnsSide: boolean;
  /** For DNS-side failures: whose DNS failed. */
  responsibility: Responsibility | null;
  /** For DNS-side failures: each resolver asked and what it did. */
  resolvers: ResolverOutcome[];
  message: string;
  checkedAt: string;
  /** Stored with a DNS-side failure: the last real verdict before it (a failure says nothing about the record). */
  lastVerdict?: Diagnosis | null;
}

/** What Palisade knows about a value someone published: who it was issued to. */
export type TokenOwner = { sameOrg: true; domainName: string; current: boolean } | { sameOrg: false };
export type TokenLookup = (value: string) => Promise<TokenOwner | undefined>;

/** Records shown in a diagnosis; all of them are compared. */
export const MAX_SHOWN = 20;
const MAX_VALUE = 300;
const clip = (s: string) => (s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE)}…` : s);
const quote = (s: string) => JSON.stringify(clip(s));

const stripQuotes = (s: string) => {
  const m = /^\s*(?:"(.*)"|'(.*)'|\\"(.*)\\")\s*$/s.exec(s);
  return m ? (m[1] ?? m[2] ?? m[3] ?? s) : s;
};

/** A whole zone-file line pasted as the value: `name. 3600 IN TXT "value"`. */
const ZONE_LINE = /(^|\s)(\d+\s+)?IN\s+TXT(\s|$)/i;

/** Compares one published record with the expected value; a miss that is close gets named flags. */
export async function judge(
  strings: string[],
  expected: string,
  domainName: string,
  owners: TokenLookup,
): Promise<{ match: boolean; found: FoundValue }> {
  const joined = strings.join('');
  if (strings.length === 1 && joined === expected)
    return { match: true, found: { value: clip(joined), strings: strings.map(clip), nearMiss: [] } };
  const flags: NearMiss[] = [];
  let candidate = joined;
  if (strings.length > 1) flags.push('split_across_strings');
  const unquoted = stripQuotes(candidate);
  if (unquoted !== candidate) {
    flags.push('surrounding_quotes');
    candidate = unquoted;
  }
  const compact = candidate.replace(/\s+/g, '');
  if (
    compact !== candidate &&
    compact.toLowerCase().includes(expected.toLowerCase()) &&
    compact.length === expected.length
  ) {
    flags.push('whitespace');
    candidate = compact;
  }
  const near: NearMiss[] = [];
  if (candidate === expected) near.push(...flags);
  else if (candidate.toLowerCase() === expected.toLowerCase()) near.push(...flags, 'letter_case');
  else if (candidate.includes(expected))
    near.push(...flags, ZONE_LINE.test(candidate) ? 'zone_file_line' : 'extra_text');
  else {
    const owner = await owners(candidate);
    if (owner) {
      const who: NearMiss = !owner.sameOrg
        ? 'other_organization_token'
        : owner.domainName === domainName
          ? 'older_token'
          : 'token_for_other_domain';
      near.push(...flags, who);
    }
  }
  return { match: false, found: { value: clip(joined), strings: strings.map(clip), nearMiss: near } };
}

const HINT: Record<NearMiss, string> = {
  surrounding_quotes:
    'it includes quote characters as part of the text (many DNS consoles add the quotes themselves; enter the value without them)',
  whitespace: 'it contains spaces or line breaks; remove them',
  split_across_strings: 'it is split into several strings; put the whole value in one string',
  letter_case: 'it differs only in upper/lower case; copy the value exactly',
  zone_file_line:
    'it is a whole zone-file line (name, TTL, IN TXT and the value) pasted into the value field; enter only the value',
  extra_text: 'it contains the value with other text around it; the record must hold the value alone',
  older_token:
    'it is an older verification value of this organization for this domain (a new value was issued when the domain was added again); replace it with the current value',
  token_for_other_domain:
    "it is this organization's verification value for a different domain; each domain has its own value",
  other_organization_token:
    'it is a verification value issued to a different Palisade organization; make sure you copied the value shown for this organization',
};

const PLACE: Record<Misplacement, string> = {
  apex: 'at the domain itself (the zone apex, "@") instead of under the record name',
  missing_underscore: 'under the record name without its leading underscore',
  prefix_variant: 'under a misspelt record name',
  doubled_zone:
    'under the record name with the domain repeated (the DNS console appended the zone to a name that already ended with it)',
  parent_domain: 'under the parent domain instead of this subdomain',
};

const RESPONSIBLE: Record<Responsibility, string> = {
  palisade_resolver:
    "This is a problem with Palisade's DNS resolver, not with your domain: the Palisade operator should check PALISADE_DNS_SERVERS (the resolvers must be reachable from Palisade and resolve public names recursively). Palisade keeps its last verdict meanwhile.",
  domain_name_servers:
    "Palisade's resolver works, but the domain's name servers did not give it an answer: whoever runs the DNS for this domain should check that every name server listed for it answers (and that DNSSEC, if used, validates). Palisade keeps its last verdict meanwhile; retry in a few minutes.",
};

const FAILED_HOW: Record<string, string> = {
  timeout: 'did not answer in time',
  unreachable: 'could not be reached (connection refused)',
  servfail: 'answered SERVFAIL',
  refused: 'refused the query (REFUSED)',
  error: 'failed',
};

export interface DiagnoseInput {
  domain: string;
  recordName: string;
  expected: string;
  lookup: TxtLookup;
  owners: TokenLookup;
  checkedAt: string;
  /** Looks at the usual wrong places; called only when the value is not where it should be. */
  elsewhere?: () => Promise<MisplacedValue[]>;
}

export async function diagnose(input: DiagnoseInput): Promise<Diagnosis> {
  const { domain, recordName, expected, lookup } = input;
  const chain = lookup.kind === 'dns_failure' ? [] : lookup.chain;
  const base = {
    domain,
    recordType: 'TXT' as const,
    recordName,
    expectedValue: expected,
    checkedAt: input.checkedAt,
    cnameChain: chain,
    responsibility: null,
    resolvers: [],
    foundTotal: 0,
    elsewhere: [] as MisplacedValue[],
  };
  const add = `Add a TXT record named ${recordName} with the value ${quote(expected)}, wait for it to reach the DNS, then check again.`;
  const misplaced = async (): Promise<{ elsewhere: MisplacedValue[]; text: string }> => {
    const elsewhere = input.elsewhere ? await input.elsewhere() : [];
    const text = elsewhere
      .map(
        (e) =>
          ` The expected value is published at ${e.name}, ${PLACE[e.kind]}${e.nearMiss.length ? ` (and ${e.nearMiss.map((n) => HINT[n]).join('; ')})` : ''}: move it to ${recordName}.`,
      )
      .join('');
    return { elsewhere, text };
  };
  switch (lookup.kind) {
    case 'dns_failure': {
      const who = lookup.resolvers.map((r) => `${r.server} ${FAILED_HOW[r.outcome] ?? r.outcome}`).join('; ');
      const code: DiagnosisCode =
        lookup.responsibility === 'palisade_resolver'
          ? 'dns_resolver_failure'
          : lookup.failure === 'timeout'
            ? 'dns_timeout'
            : 'dns_server_failure';
      return {
        ...base,
        code,
        ok: false,
        found: [],
        cnameTarget: null,
        dnsSide: true,
        responsibility: lookup.responsibility,
        resolvers: lookup.resolvers,
        message: `${domain} could not be checked: looking up TXT ${recordName} (expected value ${quote(expected)}) failed at every resolver asked: ${who}. This is a DNS-side problem, not a verdict on your record. ${RESPONSIBLE[lookup.responsibility]}`,
      };
    }
    case 'cname_loop':
      return {
        ...base,
        code: 'cname_loop',
        ok: false,
        found: [],
        cnameTarget: chain[0] ?? null,
        dnsSide: false,
        message: `${domain} is not verified: ${recordName} is an alias (CNAME) chain that ${chain.length > 8 ? `is longer than 8 hops` : 'loops back on itself'} (${[recordName, ...chain].join(' → ')}), so no TXT record can be reached. Remove the CNAME and add the TXT record at ${recordName} itself.`,
      };
    case 'nxdomain':
    case 'nodata': {
      const m = await misplaced();
      const target = chain[chain.length - 1];
      if (target) {
        const missing = lookup.kind === 'nxdomain' ? 'does not exist' : 'has no TXT record';
        return {
          ...base,
          elsewhere: m.elsewhere,
          code: 'cname_elsewhere',
          ok: false,
          found: [],
          cnameTarget: chain[0] ?? null,
          dnsSide: false,
          message: `${domain} is not verified: ${recordName} is an alias (CNAME) for ${chain.join(' → ')}, which ${missing}, so the expected value ${quote(expected)} was not found. Remove the CNAME and add the TXT record at ${recordName} itself, or publish the value at ${target}.${m.text}`,
        };
      }
      if (lookup.kind === 'nxdomain') {
        return {
          ...base,
          elsewhere: m.elsewhere,
          code: 'record_name_not_found',
          ok: false,
          found: [],
          cnameTarget: null,
          dnsSide: false,
          message: `${domain} is not verified: the name ${recordName} does not exist in DNS (NXDOMAIN), so no TXT record was found. ${lookup.domainExists ? '' : `The domain ${domain} itself does not exist in DNS either: check its spelling, and that it is registered and its name servers are set. `}${m.text ? `${m.text.trim()} ` : ''}${add}`,
        };
      }
      return {
        ...base,
        elsewhere: m.elsewhere,
        code: 'no_txt_records',
        ok: false,
        found: [],
        cnameTarget: null,
        dnsSide: false,
        message: `${domain} is not verified: the name ${recordName} exists but has no TXT records (only other record types). ${m.text ? `${m.text.trim()} ` : ''}${add}`,
      };
    }
    case 'records': {
      if (lookup.records.length === 0) return diagnose({ ...input, lookup: { kind: 'nodata', cname: null, chain } });
      // Every record is compared: a name with many TXT records, served in rotating order, must not flip between verdicts.
      const judged = [];
      for (const strings of lookup.records) judged.push(await judge(strings, expected, domain, input.owners));
      const matched = judged.some((j) => j.match);
      // What is shown: the match or the near misses first, then the rest, up to MAX_SHOWN.
      const shown = [
        ...judged.filter((j) => j.match || j.found.nearMiss.length),
        ...judged.filter((j) => !j.match && !j.found.nearMiss.length),
      ]
        .slice(0, MAX_SHOWN)
        .map((j) => j.found);
      const counts = { ...base, found: shown, foundTotal: judged.length };
      if (matched) {
        const via = chain.length ? ` (through the alias ${chain.join(' → ')})` : '';
        return {
          ...counts,
          code: 'verified',
          ok: true,
          cnameTarget: chain[0] ?? null,
          dnsSide: false,
          message: `${domain} is verified: ${recordName} has the TXT value ${quote(expected)}${via}.`,
        };
      }
      const m = await misplaced();
      const more = judged.length > shown.length ? ` and ${judged.length - shown.length} more` : '';
      const list = `${shown.map((f) => quote(f.value)).join(', ')}${more}`;
      const hints = shown
        .filter((f) => f.nearMiss.length)
        .map((f) => `The value ${quote(f.value)} is close: ${f.nearMiss.map((n) => HINT[n]).join('; ')}.`)
        .join(' ');
      if (chain.length) {
        return {
          ...counts,
          elsewhere: m.elsewhere,
          code: 'cname_elsewhere',
          ok: false,
          cnameTarget: chain[0] ?? null,
          dnsSide: false,
          message: `${domain} is not verified: ${recordName} is an alias (CNAME) for ${chain.join(' → ')}, whose TXT records are ${list}, none of them the expected value ${quote(expected)}. Remove the CNAME and add the TXT record at ${recordName}, or publish the value at ${chain[chain.length - 1]}.${hints ? ` ${hints}` : ''}${m.text}`,
        };
      }
      return {
        ...counts,
        elsewhere: m.elsewhere,
        code: 'value_mismatch',
        ok: false,
        cnameTarget: null,
        dnsSide: false,
        message: `${domain} is not verified: ${recordName} has ${judged.length} TXT record(s), but none is the expected value ${quote(expected)}. Found: ${list}.${hints ? ` ${hints}` : m.text ? '' : ' Replace the record with the expected value.'}${m.text}`,
      };
    }
  }
}
