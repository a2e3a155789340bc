import cluster from 'node:cluster';
import type { Server as HttpsServer } from 'node:https';
import { pino } from 'pino';
import { LOG_REDACT_PATHS, scrubSecrets } from './http/log-redaction.js';
import { buildApp } from './app.js';
import { initKeyProvider } from './crypto/provider.js';
import { type PalisadeConfig, loadConfig } from './config.js';
import { sqlitePathOf } from './db/connect.js';
import { PalisadeError } from './errors.js';
import { reloadTls } from './http/tls.js';
import { createScheduler } from './jobs/registry.js';
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
    const fork = () => cluster.fork();
    for (let i = 0; i < workers; i++) fork();
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
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
    return;
  }
  const rt = await startRuntime(overrides);
  // Jobs start first, before the HTTP app is built: after a crash, SIEM delivery resumes as soon as
  // the process is up. The key provider is checked first (a bad master key stops start-up).
  const log = pino({ level: rt.config.logLevel, redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' }, hooks: { streamWrite: scrubSecrets } });
  initKeyProvider(rt.config, (msg) => log.warn(msg));
  const scheduler = createScheduler({ db: rt.database.db, clock: rt.clock, config: rt.config, log });
  scheduler.start();
  log.info({ jobs: scheduler.registered().length, holder: scheduler.owner }, 'job scheduler started');
  const app = await buildApp({ database: rt.database, config: rt.config, clock: rt.clock });
  const stop = async (signal: string) => {
    app.log.info({ signal }, 'shutting down');
    await scheduler.stop();
    await app.close();
    await rt.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
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
  const orgs = await rt.database.db.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  app.log.info({ address, database: rt.database.dialect, worker: cluster.isWorker ? cluster.worker?.id : undefined }, `Palisade is listening on ${address} (API docs at ${address}/docs)`);
  if (Number(orgs.n) === 0) app.log.warn('No organization exists yet: run `palisade init --org "Your Company" --email you@example.com` to create the first one and get a setup link.');
}
