import { Resolver } from 'node:dns/promises';
import type { PalisadeConfig } from '../config.js';

/** What the DNS said, before it is compared with the expected value. */
export type TxtLookup =
  | { kind: 'records'; records: string[][]; cname: string | null }
  /** `domainExists` false: the domain itself is not in DNS either (a typo, or not registered/delegated). */
  | { kind: 'nxdomain'; domainExists: boolean }
  | { kind: 'nodata'; cname: string | null }
  | { kind: 'timeout'; detail: string }
  | { kind: 'server_failure'; detail: string };

/** A resolver per check, so a changed server list or timeout applies to the next check without restart. */
export function makeResolver(config: Pick<PalisadeConfig, 'dnsServers' | 'dnsTimeoutMs'>): Resolver {
  // tries: 2 — one lost UDP packet should not fail a check; the reported timeout stays bounded.
  const resolver = new Resolver({ timeout: config.dnsTimeoutMs, tries: 2 });
  if (config.dnsServers.length > 0) resolver.setServers(config.dnsServers);
  return resolver;
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'UNKNOWN';
}

const TIMEOUT_CODES = new Set(['ETIMEOUT', 'ECONNREFUSED', 'ECANCELLED']);

/** Looks up the TXT records at `name` and, when it matters for the diagnosis, a CNAME at the same name. */
export async function lookupTxt(resolver: Resolver, name: string, expected?: string, domain?: string): Promise<TxtLookup> {
  let records: string[][];
  try {
    records = await resolver.resolveTxt(name);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOTFOUND') return { kind: 'nxdomain', domainExists: domain === undefined ? true : await nameExists(resolver, domain) };
    if (code === 'ENODATA') return { kind: 'nodata', cname: await lookupCname(resolver, name) };
    if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', detail: code };
    return { kind: 'server_failure', detail: code };
  }
  // A CNAME at the challenge name means the answer came from somewhere else. It only changes the
  // diagnosis of a miss, so an exact match (the daily common case) skips the second query.
  const exact = expected !== undefined && records.some((r) => r.length === 1 && r[0] === expected);
  return { kind: 'records', records, cname: exact ? null : await lookupCname(resolver, name) };
}

/** Whether a name exists at all: NXDOMAIN says no; data, no data or any error (unknown) say yes. */
async function nameExists(resolver: Resolver, name: string): Promise<boolean> {
  try {
    await resolver.resolveSoa(name);
    return true;
  } catch (err) {
    return errorCode(err) !== 'ENOTFOUND';
  }
}

async function lookupCname(resolver: Resolver, name: string): Promise<string | null> {
  try {
    const [target] = await resolver.resolveCname(name);
    return target ?? null;
  } catch {
    return null;
  }
}
