import cluster, { type Worker } from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import { pino } from 'pino';
import { LOG_REDACT_PATHS, scrubSecrets } from './http/log-redaction.js';
import { buildApp } from './app.js';
import { initKeyProvider } from './crypto/provider.js';
import { type PalisadeConfig, loadConfig } from './config.js';
import { sqlitePathOf } from './db/connect.js';
import { PalisadeError } from './errors.js';
import { reloadTls } from './http/tls.js';
import { createScheduler } from './scheduled-jobs.js';
import { startRuntime } from './runtime.js';

/**
 * `palisade serve`: one process, or with `--workers N` a Node cluster of N processes sharing the
 * port (one per core). Workers need PostgreSQL: SQLite takes one writer at a time, and N processes
 * queueing on one file lock would be slower than one, not faster. Every worker runs the scheduler;
 * job leases make each job run once. A worker that dies is replaced.
 */
export async function serve(overrides: Partial<PalisadeConfig>, workers: number): Promise<void> {
  if (workers > 1 && cluster.isPrimary) {
    const config = loadConfig(process.env, overrides);
    if (sqlitePathOf(config.databaseUrl) !== undefined) {
      throw new PalisadeError(
        400,
        'workers_need_postgres',
        `--workers ${workers} needs PostgreSQL. SQLite lets one process write at a time, so several workers would wait on each other's file lock instead of using more cores. Run one process on SQLite, or move the installation with \`palisade db copy --to postgres://…\` and set DATABASE_URL to it.`,
      );
    }
    // Migrate once, before the workers start.
    const rt = await startRuntime(overrides);
    await rt.close();
    let stopping = false;
    // Workers being replaced on purpose (rolling restart): their exit is expected, not a crash.
    const retiring = new Set<number>();
    const fork = () => cluster.fork();
    for (let i = 0; i < workers; i++) fork();
    cluster.on('exit', (worker, code, signal) => {
      if (stopping || retiring.delete(worker.id)) return;
      console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
      fork();
    });
    const stop = (signal: NodeJS.Signals) => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
      const check = setInterval(() => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      }, 100);
      check.unref();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
    });
    // SIGUSR2: a rolling restart (after an upgrade of the files on disk, or to pick up new settings
    // from the environment file of a process manager that re-reads it): one worker at a time, a new
    // one is started and listening before the old one drains, so the port never stops answering.
    let rolling = false;
    process.on('SIGUSR2', () => {
      if (rolling || stopping) return;
      rolling = true;
      void rollWorkers(retiring)
        .catch((err: unknown) =>
          console.error(`rolling restart stopped: ${err instanceof Error ? err.message : String(err)}`),
        )
        .finally(() => (rolling = false));
    });
    return;
  }
  const rt = await startRuntime(overrides);
  // Jobs start first, before the HTTP app is built: after a crash, SIEM delivery resumes as soon as
  // the process is up. The key provider is checked first (a bad master key stops start-up).
  const log = pino({
    level: rt.config.logLevel,
    redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
    hooks: { streamWrite: scrubSecrets },
  });
  initKeyProvider(rt.config, (msg) => log.warn(msg));
  const scheduler = createScheduler({ db: rt.database.db, clock: rt.clock, config: rt.config, log });
  scheduler.start();
  log.info({ jobs: scheduler.registered().length, holder: scheduler.owner }, 'job scheduler started');
  const app = await buildApp({ database: rt.database, config: rt.config, clock: rt.clock });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    try {
      await drainAndClose(app, rt.config, signal, async () => {
        await scheduler.stop();
        await rt.close();
      });
      process.exit(0);
    } catch (err) {
      // A stop that fails half-way (the database gone meanwhile) still ends the process, and says so.
      app.log.error({ err }, 'shutdown did not finish cleanly');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  if (rt.config.tlsCertFile) {
    process.on('SIGHUP', () => {
      try {
        reloadTls(app.server as unknown as HttpsServer, rt.config);
        app.log.info({ cert: rt.config.tlsCertFile }, 'TLS certificate reloaded');
      } catch (err) {
        app.log.error({ err }, 'TLS certificate NOT reloaded: the current one stays in use');
      }
    });
  }
  const address = await app.listen({ port: rt.config.port, host: rt.config.host });
  const orgs = await rt.database.db
    .selectFrom('organizations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  app.log.info(
    { address, database: rt.database.dialect, worker: cluster.isWorker ? cluster.worker?.id : undefined },
    `Palisade is listening on ${address} (API docs at ${address}/docs)`,
  );
  if (Number(orgs.n) === 0)
    app.log.warn(
      'No organization exists yet: run `palisade init --org "Your Company" --email you@example.com` to create the first one and get a setup link.',
    );
}

/**
 * A graceful stop: /readyz turns 503 at once (load balancers stop sending), the listener stays open
 * for PALISADE_SHUTDOWN_DRAIN_DELAY_SECONDS, then closes; requests and model streams in flight run to
 * the end for up to PALISADE_SHUTDOWN_GRACE_SECONDS (responses close their keep-alive connections so
 * clients reconnect elsewhere); then the scheduler releases its job leases and the database closes.
 * Past the deadline, remaining connections are cut so the process never hangs a deployment.
 */
async function drainAndClose(
  app: FastifyInstance,
  config: PalisadeConfig,
  signal: string,
  release: () => Promise<void>,
): Promise<void> {
  app.lifecycle.draining = true;
  app.log.info(
    { signal, drainDelaySeconds: config.shutdownDrainDelaySeconds, graceSeconds: config.shutdownGraceSeconds },
    'shutting down: finishing requests in flight, taking no new ones',
  );
  if (config.shutdownDrainDelaySeconds > 0)
    await new Promise((r) => setTimeout(r, config.shutdownDrainDelaySeconds * 1000));
  const deadline = setTimeout(() => {
    app.log.warn(
      { graceSeconds: config.shutdownGraceSeconds },
      'shutdown grace period over: closing the connections still open',
    );
    app.server.closeAllConnections();
  }, config.shutdownGraceSeconds * 1000);
  deadline.unref();
  await app.close();
  clearTimeout(deadline);
  await release();
  app.log.info('stopped');
}

/** Replaces every cluster worker in turn; each replacement listens before its predecessor drains. */
async function rollWorkers(retiring: Set<number>): Promise<void> {
  const old = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  console.error(`rolling restart of ${old.length} workers`);
  for (const worker of old) {
    const next = cluster.fork();
    await new Promise<void>((resolve, reject) => {
      next.once('listening', () => resolve());
      next.once('exit', (code) =>
        reject(new Error(`a new worker exited (${code}) before listening; ${worker.process.pid} keeps serving`)),
      );
    });
    retiring.add(worker.id);
    const exited = new Promise((r) => worker.once('exit', r));
    worker.process.kill('SIGTERM');
    await exited;
  }
  console.error('rolling restart done');
}
