/**
 * Gateway overhead: the same Messages API requests sent straight to a loopback upstream and through
 * Palisade's gateway (key lookup, authorization, policy, encrypted storage of prompt and response,
 * usage counter, audit event) in the same run. Prints p50/p99 latency, the added latency, and
 * requests/second at a fixed concurrency, JSON and SSE streaming.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { systemCtx } from '../src/context.js';
import { type Database, dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createGatewayKey } from '../src/gateway/keys.js';
import { setUpstream } from '../src/gateway/upstream.js';
import { createOrganization } from '../src/membership/organizations.js';
import { startModelUpstream } from '../test/helpers/model-upstream.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.env.BENCH_GATEWAY_REQUESTS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_GATEWAY_CONCURRENCY ?? 8);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

async function one(url: string, headers: Record<string, string>, stream: boolean): Promise<number> {
  const t0 = process.hrtime.bigint();
  const res = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify({
      model: 'bench-model',
      max_tokens: 64,
      stream,
      messages: [{ role: 'user', content: 'How long is a piece of string? '.repeat(8) }],
    }),
  });
  const text = await res.text();
  if (res.status !== 200 || (stream && !text.includes('message_stop')))
    throw new Error(`bench request failed: ${res.status} ${text.slice(0, 200)}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function measure(url: string, headers: Record<string, string>, stream: boolean) {
  for (let i = 0; i < 20; i++) await one(url, headers, stream); // warm-up
  const lat: number[] = [];
  for (let i = 0; i < N; i++) lat.push(await one(url, headers, stream));
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await one(url, headers, stream);
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { p50: pct(lat, 50), p99: pct(lat, 99), rps: N / secs };
}

async function runDialect(dialect: 'sqlite' | 'postgres'): Promise<void> {
  let database: Database;
  let cleanup: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-gw-'));
    database = await openDatabase(`sqlite:${join(dir, 'bench.db')}`);
    cleanup = async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    };
  } else {
    const schema = `bench_gw_${randomBytes(4).toString('hex')}`;
    database = await openDatabase(PG_URL, { pgSchema: schema, pgPoolSize: 10 });
    cleanup = async () => {
      await database.close();
      await dropPostgresSchema(PG_URL, schema);
    };
  }
  await migrateToLatest(database);
  const upstream = await startModelUpstream();
  // The model server is on loopback, which the outbound policy denies unless the operator allows it.
  const config = loadConfig(
    {},
    {
      databaseUrl: 'sqlite::memory:',
      logLevel: 'silent',
      masterKey: randomBytes(32).toString('base64'),
      outboundAllowCidrs: ['127.0.0.1/32'],
    },
  );
  const app = await buildApp({ database, config });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const sys = systemCtx({ db: database.db, clock: systemClock, config }, 'bench');
    const { organization } = await createOrganization(sys, { name: 'Bench', ownerEmail: 'owner@bench.example' });
    await database.db
      .updateTable('memberships')
      .set({ status: 'active' })
      .where('org_id', '=', organization.id)
      .execute();
    const user = await database.db
      .selectFrom('users')
      .select(['id', 'email'])
      .where('email', '=', 'owner@bench.example')
      .executeTakeFirstOrThrow();
    const userCtx = {
      ...sys,
      caller: {
        kind: 'user' as const,
        userId: user.id,
        email: user.email,
        via: 'session' as const,
        credentialId: 'ses_bench',
      },
    };
    await setUpstream(userCtx, organization.id, {
      name: 'loopback',
      kind: 'anthropic',
      baseUrl: upstream.url,
      apiKey: 'sk-bench',
    });
    const { key } = await createGatewayKey(userCtx, organization.id, { name: 'bench' });
    const palisade = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    for (const stream of [false, true]) {
      const direct = await measure(upstream.url, { 'x-api-key': 'sk-bench' }, stream);
      const via = await measure(palisade, { 'x-api-key': key }, stream);
      const f = (n: number) => n.toFixed(2).padStart(7);
      console.log(
        `gateway ${dialect.padEnd(8)} ${stream ? 'stream' : 'json  '}  direct p50 ${f(direct.p50)} ms p99 ${f(direct.p99)} ms ${direct.rps.toFixed(0).padStart(5)} req/s | ` +
          `via Palisade p50 ${f(via.p50)} ms p99 ${f(via.p99)} ms ${via.rps.toFixed(0).padStart(5)} req/s | added p50 ${f(via.p50 - direct.p50)} ms p99 ${f(via.p99 - direct.p99)} ms`,
      );
    }
  } finally {
    await app.close();
    await upstream.close();
    await cleanup();
  }
}

export async function benchGatewayOverhead(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  console.log(
    `\nGateway overhead: ${N} sequential requests for latency, then ${N} at concurrency ${CONCURRENCY} for throughput; default 90-day retention (prompt and response stored encrypted, audit event, usage counter).`,
  );
  for (const d of dialects) await runDialect(d);
}
