import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { errorBody } from '../http/errors.js';
import { PalisadeError } from '../errors.js';
import { type HealthDeps, type HealthReport, sharedHealth } from './report.js';

const ReadinessView = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('degraded')], {
      description: 'degraded: serving, but writes fail, or a job or SIEM destination is stalled (see checks).',
    }),
    database: Type.String({ description: 'sqlite or postgres' }),
    checks: Type.Object({
      database: Type.Object({ up: Type.Boolean() }),
      storage: Type.Object({
        writable: Type.Boolean(),
        cause: Type.Union([Type.String(), Type.Null()], {
          description: 'disk_full, read_only, io_error, database_unreachable or database_busy while not writable.',
        }),
        since: Type.Union([Type.String(), Type.Null()]),
      }),
      jobs: Type.Object({
        stalled: Type.Array(Type.Object({ name: Type.String(), code: Type.String(), since: Type.String() })),
      }),
      streams: Type.Object({
        active: Type.Integer(),
        stalled: Type.Integer(),
        maxLag: Type.Integer({ description: 'Largest number of audit events waiting for one SIEM destination.' }),
        totalLag: Type.Integer(),
      }),
    }),
  },
  { title: 'ReadinessView' },
);

/** What /readyz shows: counts and causes, never an organization's ids, names or errors (it is unauthenticated). */
export function readinessView(report: HealthReport, dialect: string) {
  const stalledJobs = report.jobs
    .filter((j) => j.stalled)
    .map((j) => ({ name: j.name, code: j.stalled!.code, since: j.stalled!.since }));
  const active = report.streams.filter((s) => s.status === 'active');
  const stalledStreams = report.streams.filter((s) => s.stalled).length;
  const degraded = !report.storage.writable || stalledJobs.length > 0 || stalledStreams > 0;
  return {
    status: degraded ? ('degraded' as const) : ('ready' as const),
    database: dialect,
    checks: {
      database: { up: report.databaseUp },
      storage: { writable: report.storage.writable, cause: report.storage.cause, since: report.storage.since },
      jobs: { stalled: stalledJobs },
      streams: {
        active: active.length,
        stalled: stalledStreams,
        maxLag: Math.max(0, ...active.map((s) => s.lag)),
        totalLag: active.reduce((n, s) => n + s.lag, 0),
      },
    },
  };
}

/**
 * /readyz: 503 only when the database does not answer (this process cannot serve) or the instance is
 * shutting down (graceful stop: it finishes what it has and takes nothing new). A full disk,
 * a read-only database, a stalled job or SIEM destination answer 200 with status "degraded": reads
 * still work there, and taking every instance out of a load balancer would stop them too.
 */
export async function healthRoutes(
  app: FastifyInstance,
  opts: HealthDeps & { registry: Registry | undefined },
): Promise<void> {
  const health = sharedHealth(opts);
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['Operations'],
        operationId: 'getReadiness',
        summary: 'Readiness: the database answers; degraded when writes fail or a job or SIEM stream is stalled',
        response: { 200: ReadinessView, 503: Type.Ref('Error') },
      },
    },
    async (request, reply) => {
      if (app.lifecycle.draining) {
        const err = new PalisadeError(
          503,
          'shutting_down',
          'This instance is shutting down: it finishes the requests it has and takes no new ones. Send requests to another instance; a restarted instance answers ready again.',
        );
        return reply
          .status(503)
          .header('retry-after', '5')
          .header('connection', 'close')
          .send(errorBody(err, request.id));
      }
      const report = await health();
      if (!report.databaseUp) {
        const fault = report.databaseFault;
        request.log.warn({ fault }, 'readiness check failed');
        const said = fault?.engineMessage
          ? ` (${fault.engineCode ? `${fault.engineCode}: ` : ''}${fault.engineMessage})`
          : '';
        const err = new PalisadeError(
          503,
          'database_unreachable',
          `The database does not answer${said}. Check DATABASE_URL and that the database server is running; Palisade reconnects by itself when it is back.`,
          { details: { cause: fault?.cause ?? 'database_unreachable' } },
        );
        return reply.status(503).header('retry-after', '5').send(errorBody(err, request.id));
      }
      return readinessView(report, opts.database.dialect);
    },
  );
  if (opts.registry) registerHealthMetrics(opts.registry, health);
}

/**
 * Gauges read from the database at each scrape (one reading shared by all of them). Stream series
 * carry stream and organization ids (opaque), never names: keep /metrics on an operators' network
 * (PALISADE_METRICS=false turns it off).
 */
export function registerHealthMetrics(registry: Registry, health: () => Promise<HealthReport>): void {
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    fill: (g: Gauge<L>, r: HealthReport) => void,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const report = await health().catch(() => undefined);
        this.reset();
        if (report) fill(this, report);
      },
    });
  gauge('palisade_database_up', '1 when the database answers a query.', [], (g, r) => g.set(r.databaseUp ? 1 : 0));
  gauge(
    'palisade_storage_writable',
    '1 when the database accepts writes; 0 on a full disk, a read-only file system or database, an I/O error or while unreachable.',
    [],
    (g, r) => g.set(r.storage.writable ? 1 : 0),
  );
  gauge(
    'palisade_storage_fault',
    '1 for the cause while the database cannot be written (disk_full, read_only, io_error, database_unreachable, database_busy).',
    ['cause'],
    (g, r) => {
      if (!r.storage.writable && r.storage.cause) g.set({ cause: r.storage.cause }, 1);
    },
  );
  // job_name, not job: Prometheus gives every scraped series the scrape job's own `job` label.
  gauge(
    'palisade_job_stalled',
    '1 when a periodic job is stalled: overdue, its holder gone, or failing 3 runs in a row (label code).',
    ['job_name', 'code'],
    (g, r) => {
      for (const j of r.jobs) g.set({ job_name: j.name, code: j.stalled?.code ?? 'none' }, j.stalled ? 1 : 0);
    },
  );
  gauge(
    'palisade_job_consecutive_failures',
    'Failed runs of a job in a row (0 after a success).',
    ['job_name'],
    (g, r) => {
      for (const j of r.jobs) g.set({ job_name: j.name }, j.consecutiveFailures);
    },
  );
  gauge(
    'palisade_job_last_finished_timestamp_seconds',
    'When a job last finished a run (Unix time).',
    ['job_name'],
    (g, r) => {
      for (const j of r.jobs) if (j.lastFinishedAt) g.set({ job_name: j.name }, Date.parse(j.lastFinishedAt) / 1000);
    },
  );
  gauge(
    'palisade_audit_unsealed_events',
    "Audit events appended (durable) and not yet sealed into their organization's hash chain; sealed within a second normally.",
    [],
    (g, r) => g.set(r.auditSealing.unsealedEvents),
  );
  gauge(
    'palisade_audit_unsealed_oldest_seconds',
    'Age of the oldest audit event not yet sealed into its chain (0 when none).',
    [],
    (g, r) =>
      g.set(
        r.auditSealing.oldestUnsealedAt
          ? Math.max(0, (Date.parse(r.at) - Date.parse(r.auditSealing.oldestUnsealedAt)) / 1000)
          : 0,
      ),
  );
  const streamLabels = ['stream_id', 'org_id', 'kind'] as const;
  const labelsOf = (s: HealthReport['streams'][number]) => ({ stream_id: s.streamId, org_id: s.orgId, kind: s.kind });
  gauge(
    'palisade_audit_stream_lag_events',
    'Audit events recorded but not yet delivered to a SIEM destination (head − cursor).',
    [...streamLabels, 'status'],
    (g, r) => {
      for (const s of r.streams) g.set({ ...labelsOf(s), status: s.status }, s.lag);
    },
  );
  gauge(
    'palisade_audit_stream_stalled',
    '1 when events wait for an active SIEM destination and nothing was delivered for PALISADE_AUDIT_STREAM_STALL_SECONDS (label code: why).',
    [...streamLabels, 'code'],
    (g, r) => {
      for (const s of r.streams)
        if (s.status === 'active') g.set({ ...labelsOf(s), code: s.stalled?.code ?? 'none' }, s.stalled ? 1 : 0);
    },
  );
  gauge(
    'palisade_audit_stream_stalled_seconds',
    'How long an active SIEM destination has delivered nothing while events wait (0 when not stalled).',
    [...streamLabels],
    (g, r) => {
      for (const s of r.streams)
        if (s.status === 'active')
          g.set(labelsOf(s), s.stalled ? Math.max(0, (Date.parse(r.at) - Date.parse(s.stalled.since)) / 1000) : 0);
    },
  );
  gauge(
    'palisade_audit_stream_consecutive_failures',
    'Failed delivery attempts in a row for a SIEM destination.',
    [...streamLabels],
    (g, r) => {
      for (const s of r.streams) g.set(labelsOf(s), s.consecutiveFailures);
    },
  );
  gauge(
    'palisade_audit_stream_dead_letter',
    '1 when a SIEM destination is in dead_letter (an admin must retry it).',
    [...streamLabels],
    (g, r) => {
      for (const s of r.streams) g.set(labelsOf(s), s.status === 'dead_letter' ? 1 : 0);
    },
  );
}
