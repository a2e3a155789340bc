/**
 * SIEM backlog drain: after a long outage N events wait for a destination (the issue's figure is
 * 1,000,000); how fast does Palisade deliver them, in order, with how much memory, and is the lag
 * visible while it drains? Two receivers on loopback, each in its own process:
 *   - a REAL rsyslog (imtcp, RFC 5424 octet-counted) writing each message's seq to a file;
 *   - a local HTTP receiver (bench/peers/webhook-receiver.ts) that checks each webhook batch's HMAC
 *     signature, parses it and checks the seq order.
 * Delivery runs the way the job does (deliverDue, repeated until the lag is 0). Beside each figure,
 * in the same run, the raw limit: the same receiver fed pre-formatted batches without Palisade.
 *
 *   BENCH_DRAIN_EVENTS (default 1,000,000), BENCH_DRAIN_RECEIVERS ("syslog webhook")
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEventInput, recordAuditBatch } from '../src/audit/record.js';
import { eventFromRow } from '../src/audit/event.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { systemCtx } from '../src/context.js';
import { type Database, dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createOrganization } from '../src/membership/organizations.js';
import { deliverDue } from '../src/streams/deliver.js';
import { formatBody, frameOctetCounted, toSyslog } from '../src/streams/formats.js';
import { createStream } from '../src/streams/streams.js';
import { startRsyslog } from '../test/peers/rsyslog.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.env.BENCH_DRAIN_EVENTS ?? 1_000_000);
const RECEIVERS = (process.env.BENCH_DRAIN_RECEIVERS ?? 'syslog webhook').split(/\s+/).filter(Boolean);
const GEN_BATCH = 5_000;

async function open(name: 'sqlite' | 'postgres'): Promise<{ database: Database; cleanup: () => Promise<void> }> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-drain-'));
    const database = await openDatabase(`sqlite:${join(dir, 'bench.db')}`);
    return {
      database,
      cleanup: async () => {
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `bench_drain_${Date.now().toString(36)}`;
  const database = await openDatabase(PG_URL, { pgSchema: schema });
  return {
    database,
    cleanup: async () => {
      await database.close();
      await dropPostgresSchema(PG_URL, schema);
    },
  };
}

async function startWebhookReceiver(): Promise<{
  url: string;
  proc: ChildProcess;
  stats: () => Promise<{ events: number; outOfOrder: number; badSignatures: number; bytes: number; batches: number }>;
  setSecret: (s: string) => Promise<void>;
}> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'peers/webhook-receiver.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    proc.once('exit', (code) => reject(new Error(`webhook receiver exited ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    proc,
    stats: async () =>
      (await (await fetch(`${url}/stats`)).json()) as {
        events: number;
        outOfOrder: number;
        badSignatures: number;
        bytes: number;
        batches: number;
      },
    setSecret: async (s) => void (await fetch(`${url}/secret`, { method: 'PUT', body: s })),
  };
}

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;

async function runDialect(name: 'sqlite' | 'postgres'): Promise<void> {
  const { database, cleanup } = await open(name);
  await migrateToLatest(database);
  const config = loadConfig(
    {},
    {
      databaseUrl: name === 'sqlite' ? 'sqlite::memory:' : PG_URL,
      logLevel: 'silent',
      masterKey: randomBytes(32).toString('base64'),
      outboundAllowCidrs: ['127.0.0.1/32'],
      auditStreamsAllowHttp: true,
    },
  );
  const sys = systemCtx({ db: database.db, clock: systemClock, config }, 'bench');
  const { organization } = await createOrganization(sys, { name: 'Drain', ownerEmail: 'owner@drain.example' });
  const orgId = organization.id;

  // The backlog: N events through the real write path (hash chain and all).
  const t0 = Date.now();
  for (let i = 0; i < N; i += GEN_BATCH) {
    const inputs: AuditEventInput[] = Array.from({ length: Math.min(GEN_BATCH, N - i) }, (_, k) => ({
      orgId,
      action: 'member.role_changed',
      targets: [{ type: 'user', id: `usr_${String(i + k).padStart(26, '0')}`, name: `user${i + k}@drain.example` }],
      metadata: { from: 'member', to: 'admin', i: i + k },
    }));
    await database.db.transaction().execute((tx) => recordAuditBatch(tx, sys, inputs));
  }
  console.log(
    `\nSIEM backlog drain on ${name}: ${N.toLocaleString()} events waiting (written in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const sample = (
    await database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('seq')
      .limit(1000)
      .execute()
  ).map(eventFromRow);

  for (const receiver of RECEIVERS) {
    const syslog =
      receiver === 'syslog' ? await startRsyslog({ template: '%$!rfc5424-sd!palisade@32473!seq%\\n' }) : undefined;
    const hook = receiver === 'webhook' ? await startWebhookReceiver() : undefined;
    try {
      const created = await createStream(
        sys,
        orgId,
        syslog
          ? {
              name: 'rsyslog',
              kind: 'syslog_tcp',
              format: 'palisade',
              host: '127.0.0.1',
              port: syslog.port,
              startFrom: 'beginning',
            }
          : { name: 'webhook', kind: 'webhook', format: 'palisade', url: `${hook!.url}/hook`, startFrom: 'beginning' },
      );
      if (hook) await hook.setSecret(created.webhookSecret!);
      const streamId = created.stream.id;
      const head = Number(
        (
          await database.db
            .selectFrom('audit_chain_heads')
            .select('seq')
            .where('org_id', '=', orgId)
            .executeTakeFirstOrThrow()
        ).seq,
      );
      const lagOf = async () =>
        head -
        Number(
          (
            await database.db
              .selectFrom('audit_streams')
              .select('cursor_seq')
              .where('id', '=', streamId)
              .executeTakeFirstOrThrow()
          ).cursor_seq,
        );

      // Lag and memory sampled while it drains (another connection on PostgreSQL; SQLite reads between batches).
      const base = rssMb();
      let peak = base;
      const lags: number[] = [];
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMb());
        void lagOf().then((l) => lags.push(l));
      }, 250);
      const start = process.hrtime.bigint();
      let runs = 0;
      for (let lag = await lagOf(); lag > 0; lag = await lagOf()) {
        const r = await deliverDue(sys);
        runs++;
        if (r.failed)
          throw new Error(
            `delivery failed: ${JSON.stringify(await database.db.selectFrom('audit_streams').select('last_error').where('id', '=', streamId).executeTakeFirst())}`,
          );
      }
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      clearInterval(sampler);
      const total = head;

      // What the receiver got: every seq once, in order.
      let received: number;
      let inOrder: boolean;
      if (syslog) {
        const until = Date.now() + 60_000;
        let lines: string[] = [];
        while (Date.now() < until) {
          lines = readFileSync(syslog.outFile, 'utf8').split('\n').filter(Boolean);
          if (lines.length >= total) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        received = lines.length;
        inOrder = lines.every((l, i) => Number(l) === i + 1);
      } else {
        const s = await hook!.stats();
        received = s.events;
        inOrder = s.outOfOrder === 0 && s.badSignatures === 0;
      }

      // The raw limit: the same receiver fed pre-formatted batches of the same events, no Palisade.
      const rawN = Math.min(total, 200_000);
      const rawSeconds = syslog
        ? await rawSyslog(syslog.port, sample, rawN)
        : await rawWebhook(`${hook!.url}/hook`, created.webhookSecret!, sample, rawN);

      const visible = lags.length
        ? `lag sampled ${lags.length}× every 250 ms: ${lags
            .slice(0, 3)
            .map((l) => l.toLocaleString())
            .join(', ')} … ${lags
            .slice(-2)
            .map((l) => l.toLocaleString())
            .join(', ')}`
        : 'drained before the first lag sample';
      console.log(
        `  ${receiver.padEnd(8)}: ${Math.round(total / seconds)
          .toLocaleString()
          .padStart(
            9,
          )} events/s (${total.toLocaleString()} in ${seconds.toFixed(1)} s, ${runs} job runs); received ${received.toLocaleString()}, ${inOrder ? 'in order' : 'OUT OF ORDER'}; peak RSS +${Math.round(peak - base)} MB over ${Math.round(base)} MB`,
      );
      console.log(`            ${visible}`);
      console.log(
        `  ${'raw'.padEnd(8)}: ${Math.round(rawN / rawSeconds)
          .toLocaleString()
          .padStart(9)} events/s (the same receiver fed pre-formatted batches of ${rawN.toLocaleString()} events)`,
      );
      if (received < total || !inOrder)
        throw new Error(`${receiver}: received ${received} of ${total}${inOrder ? '' : ', out of order'}`);
      await database.db.deleteFrom('audit_streams').where('id', '=', streamId).execute();
      if (syslog) statSync(syslog.outFile);
    } finally {
      await syslog?.cleanup();
      hook?.proc.kill('SIGTERM');
    }
  }
  await cleanup();
}

/** Octet-counted frames of the sample events, 2,000 per connection, written as fast as rsyslog takes them. */
async function rawSyslog(port: number, sample: ReturnType<typeof eventFromRow>[], n: number): Promise<number> {
  const host = hostname();
  const frames = sample.map((e) => frameOctetCounted(toSyslog(e, 'palisade', host)));
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < n; sent += 2_000) {
    const payload = Buffer.concat(
      Array.from({ length: Math.min(2_000, n - sent) }, (_, i) => frames[i % frames.length] as Buffer),
    );
    await new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.end(payload));
      s.on('error', reject);
      s.on('data', () => undefined);
      s.on('close', () => resolve());
    });
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Signed webhook bodies of 1,000 sample events, posted one after another. */
async function rawWebhook(
  url: string,
  secret: string,
  sample: ReturnType<typeof eventFromRow>[],
  n: number,
): Promise<number> {
  const bodies = sample.map((e) => formatBody(e, 'palisade'));
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < n; sent += 1_000) {
    const body = `{"redelivery":true,"events":[${Array.from({ length: Math.min(1_000, n - sent) }, (_, i) => bodies[i % bodies.length]).join(',')}]}`;
    const t = Math.floor(Date.now() / 1000);
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'palisade-signature': `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`,
      },
    });
    if (res.status !== 204) throw new Error(`raw webhook: HTTP ${res.status}`);
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export async function benchStreamDrain(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  for (const d of dialects) await runDialect(d);
}
