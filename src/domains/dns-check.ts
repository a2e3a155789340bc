import { Resolver, getServers } from 'node:dns/promises';
import type { PalisadeConfig } from '../config.js';

/**
 * DNS lookups for domain verification, done so that the answer does not depend on which resolver
 * answered or in what order:
 *
 * - Every configured resolver is its own single-server channel. A query goes to the first healthy
 *   one and, if it has not answered within a short hedge delay, to the next as well; the first
 *   definitive answer (records, NXDOMAIN, no data) wins. A resolver that timed out or could not be
 *   reached is tried last for a minute, so a dead first resolver costs one hedge delay per query,
 *   not a full timeout per query per check.
 * - A CNAME the resolver returned without its target's records (an authoritative server, or a
 *   resolver that does not chase into another zone) is followed here, a bounded number of hops,
 *   with loop detection.
 * - When every resolver fails, each one is named with how it failed, and a control query tells
 *   whose problem it is: Palisade's resolver (dead, refusing, broken) or the domain's name servers.
 */

export type ResolverFailureKind = 'timeout' | 'unreachable' | 'servfail' | 'refused' | 'error';

/** What one resolver did with one query. */
export interface ResolverOutcome {
  server: string;
  outcome: 'answered' | 'nxdomain' | 'nodata' | ResolverFailureKind;
  detail?: string;
}

export type Responsibility = 'palisade_resolver' | 'domain_name_servers';

/** What the DNS said, before it is compared with the expected value. */
export type TxtLookup =
  /** `chain`: the CNAMEs followed from the record name to where the records are. */
  | { kind: 'records'; records: string[][]; cname: string | null; chain: string[] }
  /** `domainExists` false: the domain itself is not in DNS either (a typo, or not registered/delegated). */
  | { kind: 'nxdomain'; domainExists: boolean; chain: string[] }
  | { kind: 'nodata'; cname: string | null; chain: string[] }
  | { kind: 'cname_loop'; chain: string[] }
  | {
      kind: 'dns_failure';
      failure: ResolverFailureKind;
      responsibility: Responsibility;
      resolvers: ResolverOutcome[];
      detail: string;
    };

/** A resolver that stopped answering is tried last for this long. */
const DOWN_FOR_MS = 60_000;
/** Longest CNAME chain followed (resolvers commonly stop at 8 to 16). */
export const MAX_CNAME_HOPS = 8;

const downUntil = new Map<string, number>();
/** One channel per resolver and timeout, shared by every check (creating a c-ares channel per query costs a quarter of the job's time). */
const channels = new Map<string, Resolver>();

function channel(server: string, timeoutMs: number): Resolver {
  const key = `${server}|${timeoutMs}`;
  let r = channels.get(key);
  if (!r) {
    r = new Resolver({ timeout: timeoutMs, tries: 1 });
    r.setServers([server]);
    channels.set(key, r);
  }
  return r;
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'UNKNOWN';
}

const FAILURE_OF: Record<string, ResolverFailureKind> = {
  ETIMEOUT: 'timeout',
  ECANCELLED: 'timeout',
  ECONNREFUSED: 'unreachable',
  ESERVFAIL: 'servfail',
  EREFUSED: 'refused',
};

type Answer<T> = { kind: 'answer'; value: T; server: string } | { kind: 'nxdomain' | 'nodata'; server: string };
type QueryResult<T> = Answer<T> | { kind: 'failed'; attempts: ResolverOutcome[] };

/** The resolvers a check asks, in order: PALISADE_DNS_SERVERS, else the system's. */
export interface DnsClient {
  servers: string[];
  timeoutMs: number;
  /** Outcome of every query to every resolver during one check, for the diagnosis. */
  attempts: ResolverOutcome[];
}

export function dnsClient(config: Pick<PalisadeConfig, 'dnsServers' | 'dnsTimeoutMs'>): DnsClient {
  const servers = config.dnsServers.length ? [...config.dnsServers] : getServers();
  return { servers, timeoutMs: config.dnsTimeoutMs, attempts: [] };
}

/** Healthy resolvers first (in configured order), then those that recently failed. */
function ordered(client: DnsClient, now: number): string[] {
  const up = client.servers.filter((s) => (downUntil.get(s) ?? 0) <= now);
  const down = client.servers.filter((s) => (downUntil.get(s) ?? 0) > now);
  return [...up, ...down];
}

/**
 * One query, hedged across resolvers (see the module comment). `ask` runs the query on a resolver
 * bound to one server.
 */
async function query<T>(client: DnsClient, ask: (r: Resolver) => Promise<T>): Promise<QueryResult<T>> {
  const servers = ordered(client, Date.now());
  if (servers.length === 0)
    return {
      kind: 'failed',
      attempts: [
        { server: '(none)', outcome: 'unreachable', detail: 'no DNS resolver is configured or known to the system' },
      ],
    };
  const hedgeMs = Math.min(500, Math.max(50, Math.floor(client.timeoutMs / 4)));
  const attempts: ResolverOutcome[] = [];
  return new Promise((resolve) => {
    let next = 0;
    let pending = 0;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const unanswered = new Set<string>();
    const finish = (result: QueryResult<T>) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      // Queries still out on shared channels are left to end on their own; their answers are ignored.
      // A resolver still silent while a later one already answered is slow or dead: ask it last for a while.
      if (result.kind !== 'failed') {
        for (const server of unanswered) {
          downUntil.set(server, Date.now() + DOWN_FOR_MS);
          attempts.push({ server, outcome: 'timeout', detail: 'slower than another resolver' });
        }
      }
      client.attempts.push(...attempts);
      resolve(result);
    };
    const launch = () => {
      if (done || next >= servers.length) return;
      const server = servers[next++] as string;
      const resolver = channel(server, client.timeoutMs);
      unanswered.add(server);
      pending++;
      ask(resolver).then(
        (value) => {
          pending--;
          unanswered.delete(server);
          attempts.push({ server, outcome: 'answered' });
          downUntil.delete(server);
          finish({ kind: 'answer', value, server });
        },
        (err: unknown) => {
          pending--;
          if (done) return;
          unanswered.delete(server);
          const code = errorCode(err);
          if (code === 'ENOTFOUND' || code === 'ENODATA') {
            attempts.push({ server, outcome: code === 'ENOTFOUND' ? 'nxdomain' : 'nodata' });
            downUntil.delete(server);
            finish({ kind: code === 'ENOTFOUND' ? 'nxdomain' : 'nodata', server });
            return;
          }
          const kind = FAILURE_OF[code] ?? 'error';
          attempts.push({ server, outcome: kind, detail: code });
          if (kind === 'timeout' || kind === 'unreachable') downUntil.set(server, Date.now() + DOWN_FOR_MS);
          if (next < servers.length) launch();
          else if (pending === 0) finish({ kind: 'failed', attempts });
        },
      );
      if (next < servers.length) timers.push(setTimeout(launch, hedgeMs));
    };
    launch();
  });
}

const FAILURE_PRIORITY: ResolverFailureKind[] = ['servfail', 'timeout', 'refused', 'unreachable', 'error'];

/**
 * Whose problem a failed lookup is. A resolver that did not answer at all (or refused to resolve
 * the name for Palisade) is Palisade's resolver; one that answers a control query (the root zone)
 * but failed or timed out on this name is waiting on the domain's name servers.
 */
async function blame(
  client: DnsClient,
  attempts: ResolverOutcome[],
): Promise<{ failure: ResolverFailureKind; responsibility: Responsibility; resolvers: ResolverOutcome[] }> {
  const perServer = new Map<string, ResolverOutcome>();
  for (const a of attempts) perServer.set(a.server, a);
  const resolvers = [...perServer.values()];
  const failure = FAILURE_PRIORITY.find((k) => resolvers.some((r) => r.outcome === k)) ?? 'error';
  const candidates = resolvers.filter((r) => r.outcome === 'servfail' || r.outcome === 'timeout');
  let domainSide = false;
  await Promise.all(
    candidates.map(async (r) => {
      const probe = channel(r.server, client.timeoutMs);
      try {
        await probe.resolveNs('.');
        // Alive and resolving: the failure is specific to this domain.
        domainSide = true;
      } catch (err) {
        const code = errorCode(err);
        // Any DNS answer (even REFUSED for the root) proves the resolver is up; SERVFAIL on the root does not clear it.
        if (
          r.outcome === 'timeout' &&
          code !== 'ETIMEOUT' &&
          code !== 'ECONNREFUSED' &&
          code !== 'ECANCELLED' &&
          code !== 'ESERVFAIL'
        )
          domainSide = true;
      }
    }),
  );
  return { failure, responsibility: domainSide ? 'domain_name_servers' : 'palisade_resolver', resolvers };
}

async function failed(client: DnsClient, attempts: ResolverOutcome[]): Promise<TxtLookup> {
  const b = await blame(client, attempts);
  return {
    kind: 'dns_failure',
    ...b,
    detail: b.resolvers
      .map((r) => `${r.server}: ${r.outcome}${r.detail && r.detail !== r.outcome ? ` (${r.detail})` : ''}`)
      .join(', '),
  };
}

/**
 * TXT records at `name` (and, when `wantAlias`, the CNAME the resolver chased to get them), else
 * its CNAME target, else why not.
 */
async function txtOrCname(
  client: DnsClient,
  name: string,
  wantAlias: (records: string[][]) => boolean,
): Promise<
  | { kind: 'txt'; records: string[][]; cname: string | null }
  | { kind: 'nxdomain' | 'nodata'; cname: string | null }
  | { kind: 'failed'; attempts: ResolverOutcome[] }
> {
  const txt = await query(client, (r) => r.resolveTxt(name));
  if (txt.kind === 'failed') return txt;
  const records = txt.kind === 'answer' ? txt.value : [];
  // An empty answer is what a resolver gives when the name is an alias whose target it did not chase.
  const needCname = records.length === 0 || wantAlias(records);
  const cname = needCname ? await query(client, (r) => r.resolveCname(name)) : undefined;
  const target = cname?.kind === 'answer' ? (cname.value[0] ?? null) : null;
  if (records.length) return { kind: 'txt', records, cname: target };
  return { kind: txt.kind === 'nxdomain' ? 'nxdomain' : 'nodata', cname: target };
}

/** Whether a name exists at all: NXDOMAIN says no; data, no data or any error (unknown) say yes. */
async function nameExists(client: DnsClient, name: string): Promise<boolean> {
  const r = await query(client, (res) => res.resolveSoa(name));
  return r.kind !== 'nxdomain';
}

/**
 * Looks up the TXT records at `name`, following CNAMEs (at most MAX_CNAME_HOPS, loops detected).
 * With `expected` (the scheduled re-check), an exact match asks nothing more; otherwise an alias
 * the resolver chased is reported too.
 */
export async function lookupTxt(
  client: DnsClient,
  name: string,
  expected?: string,
  domain?: string,
): Promise<TxtLookup> {
  const chain: string[] = [];
  let current = name;
  const wantAlias = (records: string[][]) =>
    chain.length === 0 && (expected === undefined || !records.some((r) => r.length === 1 && r[0] === expected));
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const r = await txtOrCname(client, current, wantAlias);
    if (r.kind === 'failed') return failed(client, r.attempts);
    if (r.kind === 'txt') {
      const via = r.cname ? [...chain, r.cname.replace(/\.$/, '').toLowerCase()] : chain;
      return { kind: 'records', records: r.records, cname: via[0] ?? null, chain: via };
    }
    if (!r.cname) {
      if (r.kind === 'nxdomain')
        return {
          kind: 'nxdomain',
          domainExists: chain.length || domain === undefined ? true : await nameExists(client, domain),
          chain,
        };
      return { kind: 'nodata', cname: chain[0] ?? null, chain };
    }
    const target = r.cname.replace(/\.$/, '').toLowerCase();
    if (target === name.toLowerCase() || chain.includes(target))
      return { kind: 'cname_loop', chain: [...chain, target] };
    chain.push(target);
    current = target;
  }
  return { kind: 'cname_loop', chain };
}

/** TXT values at a name, for near-miss hints: empty when there are none or the lookup failed. */
export async function txtValuesAt(client: DnsClient, name: string): Promise<string[][]> {
  const r = await query(client, (res) => res.resolveTxt(name));
  return r.kind === 'answer' ? r.value : [];
}

/** For tests: forget which resolvers recently failed (and their channels). */
export function forgetResolverHealth(): void {
  downUntil.clear();
  for (const r of channels.values()) r.cancel();
  channels.clear();
}
