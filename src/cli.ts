#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { buildApp } from './app.js';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rotateSigningKey } from './audit/checkpoints.js';
import { EXPORT_FORMATS, type ExportFormat, startExport } from './audit/export.js';
import { verifyExportFile } from './audit/verify-file.js';
import { verifyChain } from './audit/verify.js';
import { ConfigError, loadConfig } from './config.js';
import { systemCtx } from './context.js';
import { pino } from 'pino';
import { closeKeyProvider, initKeyProvider } from './crypto/provider.js';
import { openDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { PalisadeError } from './errors.js';
import { createScheduler } from './jobs/registry.js';
import { jobHealth } from './jobs/health.js';
import { createChildOrganization, createOrganization } from './orgs/organizations.js';
import { startRuntime } from './runtime.js';

const program = new Command();
program.name('palisade').description('Palisade: the security control plane for your AI-assistant workspace.').showHelpAfterError();

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('use a port number from 0 to 65535.');
  return n;
};

program
  .command('serve')
  .description('Run the Palisade server (migrates the database first).')
  .option('--port <port>', 'TCP port (overrides PALISADE_PORT)', port)
  .option('--host <host>', 'address to listen on (overrides PALISADE_HOST)')
  .action(async (opts: { port?: number; host?: string }) => {
    const rt = await startRuntime({ ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.host ? { host: opts.host } : {}) });
    // Jobs start first, before the HTTP app is built: after a crash, SIEM delivery resumes as soon
    // as the process is up. The key provider is checked first (a bad master key stops start-up).
    const log = pino({ level: rt.config.logLevel });
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
    const address = await app.listen({ port: rt.config.port, host: rt.config.host });
    const orgs = await rt.database.db.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    app.log.info({ address, database: rt.database.dialect }, `Palisade is listening on ${address} (API docs at ${address}/docs)`);
    if (Number(orgs.n) === 0) app.log.warn('No organization exists yet: run `palisade init --org "Your Company" --email you@example.com` to create the first one and get a setup link.');
  });

program
  .command('migrate')
  .description('Apply database migrations and exit.')
  .action(async () => {
    const config = loadConfig();
    const database = await openDatabase(config.databaseUrl);
    try {
      const { applied } = await migrateToLatest(database, { config, log: (msg) => console.warn(msg) });
      console.log(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'The database is already up to date.');
    } finally {
      await database.close();
      await closeKeyProvider(config);
    }
  });

program
  .command('init')
  .description('Create the first organization and its primary owner, and print a one-time setup link.')
  .requiredOption('--org <name>', 'organization name')
  .requiredOption('--email <email>', "the primary owner's email")
  .option('--if-empty', 'do nothing (and succeed) when an organization already exists')
  .action(async (opts: { org: string; email: string; ifEmpty?: boolean }) => {
    const rt = await startRuntime();
    try {
      const existing = await rt.database.db.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      if (Number(existing.n) > 0) {
        if (opts.ifEmpty) {
          console.log('Palisade is already initialized; nothing to do.');
          return;
        }
        throw new PalisadeError(409, 'already_initialized', 'Palisade already has organizations. Use `palisade org create` to add another, or sign in at /login.');
      }
      const ctx = systemCtx({ db: rt.database.db, clock: rt.clock, config: rt.config }, 'cli');
      const { organization, setupLink } = await createOrganization(ctx, { name: opts.org, ownerEmail: opts.email });
      console.log(`Created organization "${organization.name}" (${organization.id}) with primary owner ${opts.email.trim().toLowerCase()}.`);
      if (setupLink) console.log(`\nOpen this one-time link to set the owner's password (valid until ${setupLink.expiresAt}):\n\n  ${setupLink.url}\n`);
      else console.log('That person already has a password: they can sign in at /login.');
    } finally {
      await rt.close();
    }
  });

const org = program.command('org').description('Manage organizations.');
org
  .command('create')
  .description('Create an organization (top-level, or a child with --parent).')
  .requiredOption('--name <name>', 'organization name')
  .option('--owner-email <email>', "the primary owner's email (top-level organizations)")
  .option('--parent <orgId>', 'create a child organization under this one')
  .action(async (opts: { name: string; ownerEmail?: string; parent?: string }) => {
    const rt = await startRuntime();
    try {
      const ctx = systemCtx({ db: rt.database.db, clock: rt.clock, config: rt.config }, 'cli');
      if (opts.parent) {
        const child = await createChildOrganization(ctx, opts.parent, { name: opts.name });
        console.log(`Created child organization "${child.name}" (${child.id}) under ${opts.parent}.`);
        return;
      }
      const { organization, setupLink } = await createOrganization(ctx, { name: opts.name, ...(opts.ownerEmail ? { ownerEmail: opts.ownerEmail } : {}) });
      console.log(`Created organization "${organization.name}" (${organization.id}).`);
      if (setupLink) console.log(`One-time setup link for the owner (valid until ${setupLink.expiresAt}):\n  ${setupLink.url}`);
    } finally {
      await rt.close();
    }
  });

/** A JSON object from a file named on the command line, or an error that names the option. */
function readJsonFile(path: string, option: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`${option} ${path} cannot be read as JSON (${err instanceof Error ? err.message : String(err)}); it should be ${what}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(`${option} ${path} is not a JSON object; it should be ${what}.`);
  return value as Record<string, unknown>;
}

const audit = program.command('audit').description('Work with the audit log.');
audit
  .command('verify')
  .description("Verify an organization's audit hash chain in the database (--org), or an export file offline (--file).")
  .option('--org <orgId>', 'organization id (or "system" for installation-level events)')
  .option('--file <path>', 'an export (NDJSON, JSON or CSV) to verify offline')
  .option('--checkpoints <path>', 'with --file: the JSON of GET /api/v1/orgs/ID/audit-checkpoints (signed checkpoints and keys)')
  .option('--keys <path>', `with --file: the public keys (${'/.well-known/palisade-audit-keys.json'}) to trust instead of those in --checkpoints`)
  .option('--json', 'print the result as JSON')
  .action(async (opts: { org?: string; file?: string; checkpoints?: string; keys?: string; json?: boolean }) => {
    if (opts.file) {
      const cps = opts.checkpoints ? readJsonFile(opts.checkpoints, '--checkpoints', 'the JSON of GET /api/v1/orgs/ID/audit-checkpoints') : {};
      const keysFile = opts.keys ? readJsonFile(opts.keys, '--keys', `the JSON of ${'/.well-known/palisade-audit-keys.json'}`) : undefined;
      const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
      const result = verifyExportFile(readFileSync(opts.file, 'utf8'), list(cps.checkpoints), keysFile ? list(keysFile.keys) : list(cps.keys));
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      else if (result.ok) console.log(`OK: all ${result.events} events of ${opts.file} verify${result.checkpointsUsed ? `; ${result.coveredBySignedCheckpoint} are covered by a signed checkpoint` : ' (no signed checkpoints given: pass --checkpoints to detect a rewritten or cut tail)'}.`);
      else {
        console.log(`TAMPERED: ${result.problems.length} problem(s) in ${opts.file}:`);
        // A dropped event is not in the file: the line names the event right after the gap.
        for (const p of result.problems) console.log(`  ${p.kind.toUpperCase()}${p.eventId ? ` ${p.kind === 'dropped' ? 'before ' : ''}${p.eventId}` : ''}${p.position ? ` (record ${p.position})` : ''}: ${p.explanation}`);
      }
      process.exitCode = result.ok ? 0 : 1;
      return;
    }
    if (!opts.org) throw new InvalidArgumentError('pass --org ID to verify the database chain, or --file PATH to verify an export.');
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      const result = await verifyChain(rt.database.db, opts.org);
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      else if (result.ok) console.log(`OK: all ${result.eventsChecked} audit events of ${opts.org} verify.`);
      else {
        const f = result.firstFailure;
        console.log(`TAMPERED: ${result.eventsChecked} events verify, then event #${f?.seq} (${f?.eventId ?? 'chain head'}) fails: ${f?.problem}.\n${f?.explanation}`);
      }
      process.exitCode = result.ok ? 0 : 1;
    } finally {
      await rt.close();
    }
  });
audit
  .command('export')
  .description('Stream an organization\'s audit events to standard output (recorded as an audit event).')
  .requiredOption('--org <orgId>', 'organization id')
  .option('--format <format>', `one of ${EXPORT_FORMATS.join(', ')}`, 'ndjson')
  .option('--from <time>', 'earliest time, ISO 8601')
  .option('--to <time>', 'latest time (exclusive), ISO 8601')
  .option('--action <action>', 'exact action or prefix such as member.*')
  .option('--actor <actor>', 'actor id or email')
  .option('--outcome <outcome>', 'success, failure or denied')
  .option('--target <id>', 'target id')
  .option('--ip <ip>', 'actor IP address')
  .action(async (opts: { org: string; format: string; from?: string; to?: string; action?: string; actor?: string; outcome?: 'success' | 'failure' | 'denied'; target?: string; ip?: string }) => {
    if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) throw new InvalidArgumentError(`--format must be one of ${EXPORT_FORMATS.join(', ')}.`);
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      const ctx = systemCtx({ db: rt.database.db, clock: rt.clock, config: rt.config }, 'cli');
      const { org, format, ...filters } = opts;
      const clean = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined));
      const out = await startExport(ctx, org, { ...clean, format: format as ExportFormat });
      await pipeline(Readable.from(out.body), process.stdout);
    } finally {
      await rt.close();
    }
  });
audit
  .command('rotate-key')
  .description('Retire the active checkpoint signing key and create a new one (old keys stay published).')
  .action(async () => {
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      if (rt.config.auditSigningKeyFile) throw new PalisadeError(409, 'signing_key_from_file', 'Checkpoints are signed with PALISADE_AUDIT_SIGNING_KEY_FILE: rotate by pointing it at a new Ed25519 key file (the old public key stays published).');
      const r = await rotateSigningKey({ db: rt.database.db, clock: rt.clock, config: rt.config });
      console.log(`New signing key ${r.kid}${r.retired.length ? `; retired ${r.retired.join(', ')}` : ''}.`);
    } finally {
      await rt.close();
    }
  });

const jobs = program.command('jobs').description('Periodic jobs (re-verification, purges, delivery).');
jobs
  .command('status')
  .description('When each job last ran, how it ended, and when it is next due.')
  .action(async () => {
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      const statuses = await jobHealth(rt.database.db, rt.clock.now());
      if (!statuses.length) console.log('No job has run yet.');
      for (const j of statuses) {
        const state = j.running ? `running in ${j.holder ?? '?'} (heartbeat ${j.heartbeatAt ?? 'never'})` : `next ${j.nextRunAt}`;
        console.log(`${j.name}: ${state}; last ${j.lastStatus ?? 'never'}${j.lastError ? ` (${j.lastError})` : ''}; ${j.runs} runs${j.stalled ? `\n  STALLED (${j.stalled.code}) since ${j.stalled.since}: ${j.stalled.reason}` : ''}`);
      }
    } finally {
      await rt.close();
    }
  });
jobs
  .command('run <name>')
  .description('Run one job now (unless another process is running it).')
  .action(async (name: string) => {
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      const scheduler = createScheduler({ db: rt.database.db, clock: rt.clock, config: rt.config });
      const r = await scheduler.runNow(name);
      console.log(r.ran ? `${name}: ${r.status}${r.error ? `: ${r.error}` : ''} ${JSON.stringify(r.summary ?? {})}` : `${name} is running in another process; try again later.`);
      process.exitCode = r.status === 'failed' ? 1 : 0;
    } finally {
      await rt.close();
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof PalisadeError) console.error(`error [${err.code}]: ${err.message}`);
  else if (err instanceof ConfigError) console.error(err.message);
  else console.error(err instanceof Error ? `error: ${err.message}` : err);
  process.exit(2);
});
