#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { buildApp } from './app.js';
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rotateSigningKey } from './audit/checkpoints.js';
import { EXPORT_FORMATS, type ExportFormat, startExport } from './audit/export.js';
import { verifyExportFile } from './audit/verify-file.js';
import { sealPendingAudit } from './audit/seal.js';
import { verifyChain } from './audit/verify.js';
import { ConfigError, loadConfig } from './config.js';
import { systemCtx } from './context.js';
import { closeKeyProvider } from './crypto/provider.js';
import { openDatabase, openOptionsFrom } from './db/connect.js';
import { copyDatabase } from './operations/copy.js';
import { backupSqlite, checkInstallation, restoreSqlite } from './operations/backup.js';
import { migrateToLatest } from './db/migrate.js';
import { PalisadeError } from './errors.js';
import { createScheduler } from './scheduled-jobs.js';
import { jobHealth } from './jobs/health.js';
import { createChildOrganization, createOrganization } from './membership/organizations.js';
import { RoleMappingInput } from './orgs/role-mapping.js';
import { putRoleMapping } from './role-mapping/change.js';
import { updateConnection } from './sso/connection-changes.js';
import { UpdateConnectionInput } from './sso/connections.js';
import { enforceSso } from './sso/enforcement.js';
import { issueRecoveryLink } from './sso/recovery.js';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { startRuntime } from './runtime.js';
import { serve } from './serve.js';
import { retryDelivery } from './email/deliveries.js';
import { testEmail } from './email/templates.js';
import { closeTransport, emailConfigured, explainSmtpError, sendMail, smtpTarget } from './email/transport.js';
import { normalizeEmail } from './users/email.js';

/** The whole command tree: its definitions are also the spec the CLI reference (docs/reference/cli.md) is generated from. */
export const program = new Command();
program
  .name('palisade')
  .description('Palisade: the security control plane for your AI-assistant workspace.')
  .showHelpAfterError();

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('use a port number from 0 to 65535.');
  return n;
};

const workerCount = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new InvalidArgumentError('use a whole number of workers from 1 to 64.');
  return n;
};

program
  .command('serve')
  .description('Run the Palisade server (migrates the database first).')
  .option('--port <port>', 'TCP port (overrides PALISADE_PORT)', port)
  .option('--host <host>', 'address to listen on (overrides PALISADE_HOST)')
  .option('--workers <n>', 'processes sharing the port, one per core (PostgreSQL only)', workerCount)
  .action(async (opts: { port?: number; host?: string; workers?: number }) => {
    await serve(
      { ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.host ? { host: opts.host } : {}) },
      opts.workers ?? 1,
    );
  });

program
  .command('migrate')
  .description('Apply database migrations and exit.')
  .action(async () => {
    const config = loadConfig();
    const database = await openDatabase(config.databaseUrl, openOptionsFrom(config));
    try {
      const { applied, newerSchema } = await migrateToLatest(database, { config, log: (msg) => console.warn(msg) });
      console.log(
        applied.length
          ? `Applied ${applied.length} migration(s): ${applied.join(', ')}`
          : newerSchema
            ? 'Nothing to apply: a newer release has already migrated this database.'
            : 'The database is already up to date.',
      );
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
      const existing = await rt.database.db
        .selectFrom('organizations')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      if (Number(existing.n) > 0) {
        if (opts.ifEmpty) {
          console.log('Palisade is already initialized; nothing to do.');
          return;
        }
        throw new PalisadeError(
          409,
          'already_initialized',
          'Palisade already has organizations. Use `palisade org create` to add another, or sign in at /login.',
        );
      }
      const ctx = systemCtx({ db: rt.database.db, clock: rt.clock, config: rt.config }, 'cli');
      const { organization, setupLink } = await createOrganization(ctx, { name: opts.org, ownerEmail: opts.email });
      console.log(
        `Created organization "${organization.name}" (${organization.id}) with primary owner ${opts.email.trim().toLowerCase()}.`,
      );
      if (setupLink)
        console.log(
          `\nOpen this one-time link to set the owner's password (valid until ${setupLink.expiresAt}):\n\n  ${setupLink.url}\n`,
        );
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
      const { organization, setupLink, ownerHasAccount } = await createOrganization(ctx, {
        name: opts.name,
        ...(opts.ownerEmail ? { ownerEmail: opts.ownerEmail } : {}),
      });
      console.log(`Created organization "${organization.name}" (${organization.id}).`);
      if (setupLink)
        console.log(
          `One-time setup link for the owner (valid until ${setupLink.expiresAt}); give it to them only, it sets their password:\n  ${setupLink.url}`,
        );
      else if (ownerHasAccount)
        console.log(
          `${opts.ownerEmail?.trim().toLowerCase()} already has a Palisade account: they become primary owner when they accept the invitation while signed in (Invitations, or POST /api/v1/me/invitations/{id}/accept).`,
        );
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
    throw new InvalidArgumentError(
      `${option} ${path} cannot be read as JSON (${err instanceof Error ? err.message : String(err)}); it should be ${what}.`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidArgumentError(`${option} ${path} is not a JSON object; it should be ${what}.`);
  return value as Record<string, unknown>;
}

/** A JSON file checked against the API's own schema for the same change, so the CLI accepts exactly what the API does. */
function readInput<T extends TSchema>(path: string, option: string, schema: T, what: string): Static<T> {
  const value = readJsonFile(path, option, what);
  if (!Value.Check(schema, value)) {
    const first = Value.Errors(schema, value).First();
    throw new InvalidArgumentError(
      `${option} ${path}: ${first ? `${first.path || '(top level)'} ${first.message}` : 'does not match'}; it should be ${what}.`,
    );
  }
  return value as Static<T>;
}

/** What the lockout guard found, one person a line. */
function printImpact(
  impact: {
    warnings: { email: string; problem: string; explanation: string }[];
    preExisting: { email: string; explanation: string }[];
    degraded: { email: string; explanation: string }[];
  },
  write: (line: string) => void = console.log,
): void {
  for (const w of impact.warnings)
    write(`  ${w.problem === 'would_fail' ? 'LOSES ACCESS' : 'LOSES ROLE'}  ${w.email}: ${w.explanation}`);
  for (const d of impact.degraded) write(`  degraded      ${d.email}: ${d.explanation}`);
  for (const p of impact.preExisting) write(`  pre-existing  ${p.email}: ${p.explanation}`);
}

const withSystem = async <T>(run: (ctx: ReturnType<typeof systemCtx>) => Promise<T>): Promise<T> => {
  const rt = await startRuntime({}, { existingDatabase: true });
  try {
    return await run(systemCtx({ db: rt.database.db, clock: rt.clock, config: rt.config }, 'cli'));
  } finally {
    await rt.close();
  }
};

const roleMapping = program
  .command('role-mapping')
  .description('The group-to-role mapping used by SSO and SCIM (changes pass the lockout guard).');
roleMapping
  .command('set')
  .description(
    'Replace the mapping from a JSON file ({"requiredPrefix","defaultRole","rules":[{"group","role"}]}). Refused, listing who would lose access or a role, unless --acknowledge-warnings.',
  )
  .requiredOption('--org <orgId>', 'organization id')
  .requiredOption('--file <path>', 'the mapping as JSON')
  .option('--acknowledge-warnings', 'apply it even though people would lose access or a role')
  .action(async (opts: { org: string; file: string; acknowledgeWarnings?: boolean }) => {
    const input = readInput(
      opts.file,
      '--file',
      RoleMappingInput,
      'a role mapping ({"requiredPrefix":null,"defaultRole":null,"rules":[]})',
    );
    const out = await withSystem((ctx) =>
      putRoleMapping(ctx, opts.org, { ...input, ...(opts.acknowledgeWarnings ? { acknowledgeWarnings: true } : {}) }),
    );
    console.log(
      `Role mapping of ${opts.org} saved: ${out.rules.length} rule(s), default role ${out.defaultRole ?? 'none'}, prefix ${out.requiredPrefix ?? 'none'}.`,
    );
    printImpact(out);
  });

const sso = program.command('sso').description('Single sign-on (changes pass the lockout guard).');
sso
  .command('update')
  .description(
    'Change a connection with the JSON body PATCH …/sso/connections/{id} takes. Refused, listing who would lose access or a role, unless --acknowledge-warnings.',
  )
  .requiredOption('--org <orgId>', 'organization id')
  .requiredOption('--connection <connectionId>', 'connection id')
  .requiredOption('--file <path>', 'the changes as JSON')
  .option('--acknowledge-warnings', 'apply them even though people would lose access or a role')
  .action(async (opts: { org: string; connection: string; file: string; acknowledgeWarnings?: boolean }) => {
    const input = readInput(
      opts.file,
      '--file',
      UpdateConnectionInput,
      'connection changes such as {"claims":{"groups":"groups"}}',
    );
    const out = await withSystem((ctx) =>
      updateConnection(ctx, opts.org, opts.connection, {
        ...input,
        ...(opts.acknowledgeWarnings ? { acknowledgeWarnings: true } : {}),
      }),
    );
    console.log(`Connection "${out.name}" (${out.id}) updated.`);
    printImpact(out);
  });
sso
  .command('enforce')
  .description(
    'Require SSO through a connection. Refused while not ready, and by the lockout guard unless --acknowledge-warnings.',
  )
  .requiredOption('--org <orgId>', 'organization id')
  .requiredOption('--connection <connectionId>', 'connection id')
  .option('--acknowledge-warnings', 'enforce even though people would lose access')
  .action(async (opts: { org: string; connection: string; acknowledgeWarnings?: boolean }) => {
    const out = await withSystem((ctx) =>
      enforceSso(ctx, opts.org, {
        connectionId: opts.connection,
        ...(opts.acknowledgeWarnings ? { acknowledgeWarnings: true } : {}),
      }),
    );
    console.log(`SSO is enforced for ${opts.org}; members sign in at ${out.loginUrl}.`);
    printImpact(out);
  });
sso
  .command('recovery-link')
  .description(
    'Issue a recovery link for a member locked out of SSO (an operator acting for the organization; audited as the CLI).',
  )
  .requiredOption('--org <orgId>', 'organization id')
  .requiredOption('--member <memberId>', 'membership id of the person')
  .requiredOption('--reason <text>', 'why (kept in the audit log)')
  .option('--minutes <n>', 'how long the link works (5-1440, default 60)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 5 || n > 1440)
      throw new InvalidArgumentError('use a whole number of minutes from 5 to 1440.');
    return n;
  })
  .action(async (opts: { org: string; member: string; reason: string; minutes?: number }) => {
    const link = await withSystem((ctx) =>
      issueRecoveryLink(ctx, opts.org, {
        memberId: opts.member,
        reason: opts.reason,
        ...(opts.minutes ? { ttlMinutes: opts.minutes } : {}),
      }),
    );
    console.log(
      `Recovery link for ${link.member.email} (one session of ${link.sessionMinutes} minutes, valid until ${link.expiresAt}):\n  ${link.url}`,
    );
  });

const audit = program.command('audit').description('Work with the audit log.');
audit
  .command('verify')
  .description("Verify an organization's audit hash chain in the database (--org), or an export file offline (--file).")
  .option('--org <orgId>', 'organization id (or "system" for installation-level events)')
  .option('--file <path>', 'an export (NDJSON, JSON or CSV) to verify offline')
  .option(
    '--checkpoints <path>',
    'with --file: the JSON of GET /api/v1/orgs/ID/audit-checkpoints (signed checkpoints and keys)',
  )
  .option(
    '--keys <path>',
    `with --file: the public keys (${'/.well-known/palisade-audit-keys.json'}) to trust instead of those in --checkpoints`,
  )
  .option('--json', 'print the result as JSON')
  .action(async (opts: { org?: string; file?: string; checkpoints?: string; keys?: string; json?: boolean }) => {
    if (opts.file) {
      const cps = opts.checkpoints
        ? readJsonFile(opts.checkpoints, '--checkpoints', 'the JSON of GET /api/v1/orgs/ID/audit-checkpoints')
        : {};
      const keysFile = opts.keys
        ? readJsonFile(opts.keys, '--keys', `the JSON of ${'/.well-known/palisade-audit-keys.json'}`)
        : undefined;
      const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
      const result = verifyExportFile(
        readFileSync(opts.file, 'utf8'),
        list(cps.checkpoints),
        keysFile ? list(keysFile.keys) : list(cps.keys),
      );
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      else if (result.ok)
        console.log(
          `OK: all ${result.events} events of ${opts.file} verify${result.checkpointsUsed ? `; ${result.coveredBySignedCheckpoint} are covered by a signed checkpoint` : ' (no signed checkpoints given: pass --checkpoints to detect a rewritten or cut tail)'}.`,
        );
      else {
        console.log(`TAMPERED: ${result.problems.length} problem(s) in ${opts.file}:`);
        // A dropped event is not in the file: the line names the event right after the gap.
        for (const p of result.problems)
          console.log(
            `  ${p.kind.toUpperCase()}${p.eventId ? ` ${p.kind === 'dropped' ? 'before ' : ''}${p.eventId}` : ''}${p.position ? ` (record ${p.position})` : ''}: ${p.explanation}`,
          );
      }
      process.exitCode = result.ok ? 0 : 1;
      return;
    }
    if (!opts.org)
      throw new InvalidArgumentError('pass --org ID to verify the database chain, or --file PATH to verify an export.');
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      // Events a running server appended and has not sealed yet are sealed first (a read-only
      // database cannot: they are then reported apart, as unsealed).
      await sealPendingAudit(rt.database.db, opts.org).catch(() => undefined);
      const result = await verifyChain(rt.database.db, opts.org);
      const unsealed = result.unsealedEvents
        ? ` ${result.unsealedEvents} more, appended while this ran, are not sealed yet and were not checked.`
        : '';
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      else if (result.ok) console.log(`OK: all ${result.eventsChecked} audit events of ${opts.org} verify.${unsealed}`);
      else {
        const f = result.firstFailure;
        console.log(
          `TAMPERED: ${result.eventsChecked} events verify, then event #${f?.seq} (${f?.eventId ?? 'chain head'}) fails: ${f?.problem}.\n${f?.explanation}`,
        );
      }
      process.exitCode = result.ok ? 0 : 1;
    } finally {
      await rt.close();
    }
  });
audit
  .command('export')
  .description("Stream an organization's audit events to standard output (recorded as an audit event).")
  .requiredOption('--org <orgId>', 'organization id')
  .option('--format <format>', `one of ${EXPORT_FORMATS.join(', ')}`, 'ndjson')
  .option('--from <time>', 'earliest time, ISO 8601')
  .option('--to <time>', 'latest time (exclusive), ISO 8601')
  .option('--action <action>', 'exact action or prefix such as member.*')
  .option('--actor <actor>', 'actor id or email')
  .option('--outcome <outcome>', 'success, failure or denied')
  .option('--target <id>', 'target id')
  .option('--ip <ip>', 'actor IP address')
  .action(
    async (opts: {
      org: string;
      format: string;
      from?: string;
      to?: string;
      action?: string;
      actor?: string;
      outcome?: 'success' | 'failure' | 'denied';
      target?: string;
      ip?: string;
    }) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format))
        throw new InvalidArgumentError(`--format must be one of ${EXPORT_FORMATS.join(', ')}.`);
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
    },
  );
audit
  .command('rotate-key')
  .description('Retire the active checkpoint signing key and create a new one (old keys stay published).')
  .action(async () => {
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      if (rt.config.auditSigningKeyFile)
        throw new PalisadeError(
          409,
          'signing_key_from_file',
          'Checkpoints are signed with PALISADE_AUDIT_SIGNING_KEY_FILE: rotate by pointing it at a new Ed25519 key file (the old public key stays published).',
        );
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
        const state = j.running
          ? `running in ${j.holder ?? '?'} (heartbeat ${j.heartbeatAt ?? 'never'})`
          : `next ${j.nextRunAt}`;
        console.log(
          `${j.name}: ${state}; last ${j.lastStatus ?? 'never'}${j.lastError ? ` (${j.lastError})` : ''}; ${j.runs} runs${j.stalled ? `\n  STALLED (${j.stalled.code}) since ${j.stalled.since}: ${j.stalled.reason}` : ''}`,
        );
      }
    } finally {
      await rt.close();
    }
  });
jobs
  .command('run')
  .description('Run one job now (unless another process is running it).')
  .argument('<name>', 'the job, as `palisade jobs status` names it (for example domains.recheck)')
  .action(async (name: string) => {
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      const scheduler = createScheduler({ db: rt.database.db, clock: rt.clock, config: rt.config });
      const r = await scheduler.runNow(name);
      console.log(
        r.ran
          ? `${name}: ${r.status}${r.error ? `: ${r.error}` : ''} ${JSON.stringify(r.summary ?? {})}`
          : `${name} is running in another process; try again later.`,
      );
      process.exitCode = r.status === 'failed' ? 1 : 0;
    } finally {
      await rt.close();
    }
  });

const dbCommand = program.command('db').description('Move or back up the database.');
dbCommand
  .command('copy')
  .description(
    'Copy this installation (DATABASE_URL, SQLite) into an empty PostgreSQL database; resumable, with progress.',
  )
  .requiredOption('--to <url>', 'the PostgreSQL database, postgres://user@host:5432/db')
  .option('--batch <rows>', 'rows per batch (one COPY and one progress mark each)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 50_000)
      throw new InvalidArgumentError('use a whole number from 1 to 50000.');
    return n;
  })
  .action(async (opts: { to: string; batch?: number }) => {
    const config = loadConfig();
    const source = await openDatabase(config.databaseUrl, openOptionsFrom(config));
    const target = await openDatabase(opts.to, openOptionsFrom(config));
    let lastLine = 0;
    try {
      const r = await copyDatabase(source, target, {
        ...(opts.batch ? { batchRows: opts.batch } : {}),
        onProgress: (p) => {
          if (Date.now() - lastLine < 1000 && p.copied < p.total) return;
          lastLine = Date.now();
          console.log(`${p.table}: ${p.copied}/${p.total}`);
        },
      });
      const bad = r.chains.filter((c) => !c.ok);
      console.log(
        `${r.resumed ? 'Resumed and copied' : 'Copied'} ${r.rows} rows of ${r.tables.length} tables in ${(r.ms / 1000).toFixed(1)} s; ${r.chains.length - bad.length} of ${r.chains.length} audit chains verify on PostgreSQL.`,
      );
      for (const c of bad)
        console.log(
          `  chain ${c.orgId} does NOT verify after the copy: run palisade audit verify --org ${c.orgId} on both databases.`,
        );
      console.log(
        'Run Palisade on the copy with DATABASE_URL set to it and the SAME master key (PALISADE_MASTER_KEY or PALISADE_MASTER_KEY_FILE; the embedded default is data/master.key), or encrypted content cannot be read.',
      );
      process.exitCode = bad.length ? 1 : 0;
    } finally {
      await source.close();
      await target.close();
    }
  });

dbCommand
  .command('check')
  .description(
    'Check an installation is whole: every audit chain verifies and every data key opens with the configured master key (after a restore or a move).',
  )
  .option('--json', 'print the result as JSON')
  .action(async (opts: { json?: boolean }) => {
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      const r = await checkInstallation(rt.database, rt.config);
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else {
        console.log(
          `${r.chains.filter((c) => c.ok).length} of ${r.chains.length} audit chains verify (${r.chains.reduce((n, c) => n + c.events, 0)} events); ${r.dataKeys.opened} of ${r.dataKeys.total} data keys open with the configured master key.`,
        );
        for (const c of r.chains.filter((x) => !x.ok)) console.log(`  chain ${c.orgId}: ${c.problem}`);
        for (const k of r.dataKeys.failed)
          console.log(
            `  data key ${k.version} of ${k.orgId} does not open: is PALISADE_MASTER_KEY (or _FILE) the key this installation was encrypted with?`,
          );
      }
      process.exitCode = r.ok ? 0 : 1;
    } finally {
      await rt.close();
    }
  });

program
  .command('backup')
  .description('Back up the embedded SQLite database to a file, consistently, while Palisade keeps running.')
  .requiredOption('--to <file>', 'the backup file to create (never overwritten)')
  .action(async (opts: { to: string }) => {
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      const r = await backupSqlite(rt.database, opts.to);
      console.log(
        `Backed up ${r.pages} pages (${(r.bytes / 1048576).toFixed(1)} MiB) to ${opts.to}. Keep the master key with it (PALISADE_MASTER_KEY or its file): without it the encrypted content cannot be read.`,
      );
    } finally {
      await rt.close();
    }
  });

program
  .command('restore')
  .description('Restore a SQLite backup as DATABASE_URL (stop Palisade first), then check it.')
  .requiredOption('--from <file>', 'the backup file')
  .option('--force', 'replace an existing database (it is kept as <name>.before-restore)')
  .action(async (opts: { from: string; force?: boolean }) => {
    const restored = restoreSqlite(loadConfig(), opts.from, opts.force === true);
    console.log(
      `Restored ${opts.from} as ${restored.path}${restored.keptPrevious ? ` (the previous database is kept as ${restored.keptPrevious})` : ''}.`,
    );
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      const r = await checkInstallation(rt.database, rt.config);
      console.log(
        `${r.chains.filter((c) => c.ok).length} of ${r.chains.length} audit chains verify; ${r.dataKeys.opened} of ${r.dataKeys.total} data keys open with the configured master key.`,
      );
      process.exitCode = r.ok ? 0 : 1;
    } finally {
      await rt.close();
    }
  });

const email = program.command('email').description('Outgoing mail (invitations, password resets).');
email
  .command('test')
  .description('Send a test message now, through PALISADE_SMTP_URL, and say what went wrong if it fails.')
  .requiredOption('--to <address>', 'where to send it')
  .action(async (opts: { to: string }) => {
    const config = loadConfig();
    if (!emailConfigured(config))
      throw new PalisadeError(
        409,
        'email_not_configured',
        'No mail server is configured: set PALISADE_SMTP_URL (smtp://host:587 or smtps://host:465) and PALISADE_SMTP_FROM, then run this again.',
      );
    const to = normalizeEmail(opts.to);
    try {
      const r = await sendMail(config, {
        to,
        messageId: `<test.${Date.now().toString(36)}@palisade>`,
        content: testEmail({ publicUrl: config.publicUrl }),
      });
      console.log(
        r.accepted
          ? `Sent to ${to} through ${smtpTarget(config)}: the server answered "${r.response}".`
          : `${smtpTarget(config)} did not accept ${to}: ${r.response}`,
      );
      process.exitCode = r.accepted ? 0 : 1;
    } catch (err) {
      console.error(`error [email_delivery_failed]: ${explainSmtpError(config, err)}`);
      process.exitCode = 1;
    } finally {
      closeTransport(config);
    }
  });
email
  .command('dead-letters')
  .description('Messages that failed every delivery attempt, with the reason.')
  .action(async () => {
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      const rows = await rt.database.db
        .selectFrom('email_outbox')
        .selectAll()
        .where('status', '=', 'dead')
        .orderBy('id')
        .limit(500)
        .execute();
      if (!rows.length) console.log('No dead letters.');
      for (const r of rows)
        console.log(
          `${r.id}  ${r.dead_at}  ${r.template} to ${r.to_address} after ${r.attempts} attempt(s)${r.body_ct ? '' : ' (content erased)'}: ${r.last_error ?? ''}`,
        );
    } finally {
      await rt.close();
    }
  });
email
  .command('retry')
  .description('Send a dead message again (its content must still be kept).')
  .argument('<id>', 'the message id, as `palisade email dead-letters` lists it')
  .action(async (id: string) => {
    const rt = await startRuntime({}, { existingDatabase: true });
    try {
      const ctx = systemCtx({ db: rt.database.db, clock: rt.clock, config: rt.config }, 'cli');
      const v = await retryDelivery(ctx, null, id);
      console.log(`${v.id} is queued again; the running server sends it within seconds.`);
    } finally {
      await rt.close();
    }
  });

/** True when this file is the program being run (directly, through the npm bin link, or with tsx), not imported by the docs generator. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint())
  program.parseAsync(process.argv).catch((err: unknown) => {
    if (err instanceof PalisadeError) {
      console.error(`error [${err.code}]: ${err.message}`);
      // The lockout guard's refusal lists everyone it would affect.
      const d = err.details as Parameters<typeof printImpact>[0] | undefined;
      if (err.code === 'sso_change_would_lock_out' && d?.warnings) printImpact(d, console.error);
    } else if (err instanceof ConfigError) console.error(err.message);
    else console.error(err instanceof Error ? `error: ${err.message}` : err);
    process.exit(2);
  });
