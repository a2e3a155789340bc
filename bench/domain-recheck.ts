/**
 * Domain re-verification: domains re-checked per second by the real job path (TXT lookup, diagnosis,
 * state update; a CNAME lookup and a locked transaction only when the check misses), next to bare `resolveTxt` calls for the same names
 * at the same parallelism against the same dnsmasq in the same run: the raw limit of DNS here.
 * Also login discovery (captureForEmail) per second next to the bare indexed SELECT it wraps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { systemCtx } from '../src/context.js';
import { type Database, dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { captureForEmail } from '../src/domains/capture.js';
import { recheckDomains } from '../src/domains/recheck-job.js';
import { createOrganization } from '../src/membership/organizations.js';
import { Dnsmasq, countingSilentResolver } from '../test/domains/dns-peers.js';
import { forgetResolverHealth } from '../src/domains/dns-check.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.env.BENCH_DOMAINS ?? 2000);
const LOOKUPS = 5000;
const PARALLEL = 8;

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function benchDomainRecheck(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  const names = Array.from({ length: N }, (_, i) => `d${i}.bench.test`);
  const token = (i: number) => `palisade-verification=${i.toString(16).padStart(40, '0')}`;
  const dns = new Dnsmasq();
  await dns.serve(names.map((n, i) => `txt-record=_palisade-challenge.${n},"${token(i)}"`));
  try {
    // Raw limit: the same lookups, same parallelism, no Palisade.
    const resolver = new Resolver({ timeout: 5000, tries: 2 });
    resolver.setServers([dns.server]);
    const raw = await timed(async () => {
      for (let i = 0; i < N; i += PARALLEL)
        await Promise.all(names.slice(i, i + PARALLEL).map((n) => resolver.resolveTxt(`_palisade-challenge.${n}`)));
    });
    for (const name of dialects) {
      let database: Database;
      let cleanup: () => Promise<void>;
      if (name === 'sqlite') {
        const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
        database = await openDatabase(`sqlite:${join(dir, 'bench.db')}`);
        cleanup = async () => rmSync(dir, { recursive: true, force: true });
      } else {
        const schema = `bench_dom_${Date.now().toString(36)}`;
        database = await openDatabase(PG_URL, { pgSchema: schema });
        cleanup = () => dropPostgresSchema(PG_URL, schema);
      }
      try {
        await migrateToLatest(database);
        const config = loadConfig({}, { dnsServers: [dns.server], logLevel: 'silent' });
        const ctx = systemCtx({ db: database.db, clock: systemClock, config }, 'bench');
        const { organization } = await createOrganization(ctx, { name: 'Bench', ownerEmail: 'owner@bench.test' });
        const at = new Date().toISOString();
        const rows = names.map((n, i) => ({
          id: `dom_${String(i).padStart(26, '0')}`,
          org_id: organization.id,
          name: n,
          unicode_name: n,
          status: 'verified' as const,
          include_subdomains: 0,
          auto_join: 0,
          token: token(i),
          claim_key: n,
          created_by: null,
          created_at: at,
          updated_at: at,
          verified_at: at,
          last_checked_at: at,
          last_good_check_at: at,
          failing_since: null,
          grace_until: null,
          expired_at: null,
          last_diagnosis: null,
        }));
        for (let i = 0; i < rows.length; i += 500)
          await database.db
            .insertInto('domains')
            .values(rows.slice(i, i + 500))
            .execute();
        let summary: Record<string, number> = {};
        const job = await timed(async () => {
          summary = await recheckDomains(ctx);
        });
        if (summary.checked !== N || summary.unchanged !== N)
          throw new Error(`recheck summary unexpected: ${JSON.stringify(summary)}`);
        // The same job with a dead resolver listed first (a silent UDP socket, default 5 s timeout):
        // it should cost about one hedge delay for the whole run, not a timeout per query.
        const dead = await countingSilentResolver();
        forgetResolverHealth();
        let deadSummary: Record<string, number> = {};
        const withDead = await timed(async () => {
          deadSummary = await recheckDomains({ ...ctx, config: { ...config, dnsServers: [dead.server, dns.server] } });
        });
        const deadQueries = dead.queries();
        await dead.close();
        forgetResolverHealth();
        if (deadSummary.checked !== N || deadSummary.unchanged !== N)
          throw new Error(`recheck with a dead resolver unexpected: ${JSON.stringify(deadSummary)}`);
        const disc = await timed(async () => {
          for (let i = 0; i < LOOKUPS; i++) await captureForEmail(database.db, `user${i}@${names[i % N]}`);
        });
        const bare = await timed(async () => {
          for (let i = 0; i < LOOKUPS; i++)
            await database.db
              .selectFrom('domains')
              .select(['org_id'])
              .where('name', '=', names[i % N] as string)
              .where('status', 'in', ['verified', 'failing'])
              .execute();
        });
        const f = (n: number) => Math.round(n).toLocaleString('en-US');
        console.log(
          `domain re-check [${name}]: Palisade ${f(N / job)} domains/s (job: TXT lookup, diagnosis, state update each; CNAME and a locked transaction only on a miss) · raw resolveTxt ${f(N / raw)} lookups/s · ${N} domains, ${PARALLEL} in flight, dnsmasq on loopback`,
        );
        console.log(
          `domain re-check, dead first resolver [${name}]: Palisade ${f(N / withDead)} domains/s (${deadQueries} of ${N} lookups went to the dead resolver before it was asked last; 5 s timeout)`,
        );
        console.log(
          `login discovery [${name}]: Palisade ${f(LOOKUPS / disc)} lookups/s (captureForEmail: normalize, suffix match, org join) · bare indexed SELECT ${f(LOOKUPS / bare)}/s`,
        );
      } finally {
        await database.close();
        await cleanup();
      }
    }
  } finally {
    await dns.close();
  }
}
