/**
 * Audit write designs under contention, at the database level, on PostgreSQL: 24 concurrent
 * "request transactions" for ONE organization, each making a change (one insert), recording one
 * audit event and running one more statement (the rest of the request), for BENCH_DESIGN_SECONDS.
 *   per-request chaining   the head row is locked where the event is recorded (mid-transaction)
 *                          and held to commit: the design before migration 0021
 *   shorter lock window    the same, with the event recorded last, just before commit
 *   append + sealer        the transaction appends the event unsealed (no seq, no hash); one sealer
 *                          (an advisory lock stands in for the lease) seals pending events in order
 *                          in batches every few ms
 * Each design runs with one pool of 10 connections (one instance) and three (three instances' worth).
 * Self-contained: the alternatives are written here in SQL so they can be compared side by side;
 * the product's write path is measured end to end, over HTTP, by bench/audit-concurrency.ts.
 */
import { sql } from 'kysely';
import { GENESIS_HASH, canonicalJsonFast, chainHash, hashedContentFromParts } from '../src/audit/event.js';
import { type Database, dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { newId } from '../src/ids.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.BENCH_DESIGN_SECONDS ?? 5);
const WRITERS = 24;
const ORG = 'org_bench_designs';
type Design = 'per-request chaining' | 'shorter lock window' | 'append + sealer';

const actor = {
  type: 'user' as const,
  id: 'usr_bench',
  email: 'admin@bench.example',
  ip: '127.0.0.1',
  userAgent: 'bench',
};

function eventParts(seq: number, id: string, at: string) {
  const targetsJson = canonicalJsonFast([{ type: 'user', id: `usr_${id}` }]);
  const metadataJson = canonicalJsonFast({ from: 'member', to: 'admin' });
  const e = {
    id,
    orgId: ORG,
    seq,
    occurredAt: at,
    actor,
    action: 'member.role_changed',
    outcome: 'success' as const,
    requestId: 'req_bench',
  };
  return { e, targetsJson, metadataJson };
}

const row = (e: ReturnType<typeof eventParts>, prev: string, hash: string) => ({
  id: e.e.id,
  org_id: ORG,
  seq: e.e.seq,
  occurred_at: e.e.occurredAt,
  actor_type: actor.type,
  actor_id: actor.id,
  actor_email: actor.email,
  actor_ip: actor.ip,
  actor_user_agent: actor.userAgent,
  action: e.e.action,
  targets: e.targetsJson,
  outcome: e.e.outcome,
  metadata: e.metadataJson,
  request_id: e.e.requestId,
  prev_hash: prev,
  hash,
});

async function chainedEvent(tx: Database['db']): Promise<void> {
  const head = await tx
    .updateTable('audit_chain_heads')
    .set((eb) => ({ seq: eb.ref('seq') }))
    .where('org_id', '=', ORG)
    .returning(['seq', 'hash'])
    .executeTakeFirstOrThrow();
  const at = new Date().toISOString();
  const parts = eventParts(Number(head.seq) + 1, newId('evt'), at);
  const hash = chainHash(head.hash, hashedContentFromParts(parts.e, parts.targetsJson, parts.metadataJson));
  await tx
    .insertInto('audit_events')
    .values(row(parts, head.hash, hash))
    .execute();
  await tx.updateTable('audit_chain_heads').set({ seq: parts.e.seq, hash }).where('org_id', '=', ORG).execute();
}

async function request(db: Database['db'], design: Design, i: number): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`insert into bench_changes (id, v) values (${newId('chg')}, ${i})`.execute(tx);
    if (design === 'per-request chaining') await chainedEvent(tx);
    if (design === 'append + sealer') {
      await sql`insert into bench_pending (id, occurred_at, targets, metadata) values (${newId('evt')}, ${new Date().toISOString()}, ${'[{"id":"usr_x","type":"user"}]'}, ${'{"from":"member","to":"admin"}'})`.execute(
        tx,
      );
    }
    await sql`select count(*) from bench_changes where id = ${'none'}`.execute(tx);
    if (design === 'shorter lock window') await chainedEvent(tx);
  });
}

/** Seals everything pending, in (pos) order, in one transaction; one sealer at a time. */
async function sealOnce(db: Database['db']): Promise<number> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(424242)`.execute(tx);
    const pending = (
      await sql<{
        pos: number;
        id: string;
        occurred_at: string;
      }>`select pos, id, occurred_at from bench_pending order by pos limit 5000`.execute(tx)
    ).rows;
    if (!pending.length) return 0;
    const head = await tx
      .selectFrom('audit_chain_heads')
      .select(['seq', 'hash'])
      .where('org_id', '=', ORG)
      .executeTakeFirstOrThrow();
    let seq = Number(head.seq);
    let prev = head.hash;
    const rows = pending.map((p) => {
      const parts = eventParts(++seq, p.id, p.occurred_at);
      const hash = chainHash(prev, hashedContentFromParts(parts.e, parts.targetsJson, parts.metadataJson));
      const r = row(parts, prev, hash);
      prev = hash;
      return r;
    });
    for (let i = 0; i < rows.length; i += 500)
      await tx
        .insertInto('audit_events')
        .values(rows.slice(i, i + 500))
        .execute();
    // Exactly the rows sealed: a range (pos <= last) would also delete a row with a smaller pos whose
    // transaction committed after the select (positions are taken at insert, not at commit).
    await sql`delete from bench_pending where pos = any(${pending.map((p) => p.pos)}::bigint[])`.execute(tx);
    await tx.updateTable('audit_chain_heads').set({ seq, hash: prev }).where('org_id', '=', ORG).execute();
    return rows.length;
  });
}

async function verifyBenchChain(db: Database['db']): Promise<number> {
  const rows = await db
    .selectFrom('audit_events')
    .select(['seq', 'prev_hash', 'hash'])
    .where('org_id', '=', ORG)
    .orderBy('seq')
    .execute();
  let prev = GENESIS_HASH;
  rows.forEach((r, i) => {
    if (Number(r.seq) !== i + 1 || r.prev_hash !== prev) throw new Error(`bench chain broken at ${r.seq}`);
    prev = r.hash;
  });
  return rows.length;
}

async function run(
  design: Design,
  instances: number,
): Promise<{ rps: number; events: number; p99Seal: number | null }> {
  const schema = `bench_designs_${Date.now().toString(36)}`;
  const first = await openDatabase(PG_URL, { pgSchema: schema });
  const pools: Database[] = [first];
  try {
    await migrateToLatest(first);
    await sql`create table bench_changes (id text primary key, v integer)`.execute(first.db);
    await sql`create table bench_pending (pos bigserial primary key, id text not null, occurred_at text not null, targets text not null, metadata text not null)`.execute(
      first.db,
    );
    await first.db.insertInto('audit_chain_heads').values({ org_id: ORG, seq: 0, hash: GENESIS_HASH }).execute();
    for (let i = 1; i < instances; i++) pools.push(await openDatabase(PG_URL, { pgSchema: schema }));
    let done = 0;
    let stop = false;
    const sealLags: number[] = [];
    const sealers =
      design === 'append + sealer'
        ? pools.map(async (p) => {
            // Every instance runs a sealer; the advisory lock lets one seal at a time (the lease).
            while (!stop) {
              const t0 = Date.now();
              const n = await sealOnce(p.db);
              if (n) sealLags.push(Date.now() - t0);
              else await new Promise((r) => setTimeout(r, 5));
            }
          })
        : [];
    const until = Date.now() + SECONDS * 1000;
    const t0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const db = (pools[w % pools.length] as Database).db;
        while (Date.now() < until) {
          await request(db, design, done);
          done++;
        }
      }),
    );
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    stop = true;
    await Promise.all(sealers);
    if (design === 'append + sealer') while ((await sealOnce(first.db)) > 0);
    const events = await verifyBenchChain(first.db);
    if (events !== done) throw new Error(`${design}: ${done} requests but ${events} chained events`);
    sealLags.sort((a, b) => a - b);
    return {
      rps: done / secs,
      events,
      p99Seal: sealLags.length ? (sealLags[Math.floor(sealLags.length * 0.99)] as number) : null,
    };
  } finally {
    for (const p of pools) await p.close();
    await dropPostgresSchema(PG_URL, schema);
  }
}

export async function benchAuditDesigns(dialects: string[]): Promise<void> {
  if (!dialects.includes('postgres')) return;
  console.log(
    `\nAudit write designs on PostgreSQL: ${WRITERS} concurrent request transactions for one organization, ${SECONDS} s each (chain verified after each run)`,
  );
  for (const design of ['per-request chaining', 'shorter lock window', 'append + sealer'] as Design[]) {
    for (const instances of [1, 3]) {
      const r = await run(design, instances);
      console.log(
        `  ${design.padEnd(22)} ${instances} instance(s): ${Math.round(r.rps).toLocaleString().padStart(6)} requests/s · ${r.events.toLocaleString()} events chained${r.p99Seal === null ? '' : ` · seal transaction p99 ${r.p99Seal} ms`}`,
      );
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchAuditDesigns(['postgres']);
