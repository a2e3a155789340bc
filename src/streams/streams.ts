import { randomBytes } from 'node:crypto';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import type { AuditEvent } from '../audit/event.js';
import { recordAudit } from '../audit/record.js';
import type { AuditStreamsTable } from '../audit/tables.js';
import { badRequest, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { authorize } from '../orgs/authorize.js';
import { assertDestinationAllowed, normalizeHost } from '../net/outbound.js';
import { type JobStatus, jobStatuses } from '../jobs/scheduler.js';
import { CIRCUIT_THRESHOLD, deliverRow } from './deliver.js';
import { DELIVERY_JOB, type StreamStall, streamStallOf, waitingEvents } from './health.js';
import { sealStreamSecret } from './secrets.js';
import type { DeliveryResult, StreamKind, StreamSettings } from './transports.js';

export const STREAM_KINDS = ['syslog_tcp', 'syslog_tls', 'splunk_hec', 'datadog', 'webhook'] as const;
export const STREAM_FORMATS = ['palisade', 'ocsf', 'cef'] as const;

export const CreateStreamBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    kind: Type.Union(STREAM_KINDS.map((k) => Type.Literal(k))),
    format: Type.Optional(
      Type.Union(
        STREAM_FORMATS.map((f) => Type.Literal(f)),
        { description: 'palisade (default), ocsf, or cef (syslog only).' },
      ),
    ),
    url: Type.Optional(
      Type.String({
        maxLength: 2000,
        description:
          "HEC base URL, Datadog intake URL (…/api/v2/logs) or webhook URL. Must be allowed by the installation's outbound policy (no loopback, link-local or cloud metadata by default).",
      }),
    ),
    host: Type.Optional(
      Type.String({
        maxLength: 255,
        description: "Syslog receiver name or address, checked against the installation's outbound policy.",
      }),
    ),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    caPem: Type.Optional(
      Type.String({ maxLength: 20_000, description: 'syslog_tls: the CA that signs the receiver certificate.' }),
    ),
    serverName: Type.Optional(Type.String({ maxLength: 255 })),
    index: Type.Optional(Type.String({ maxLength: 100 })),
    sourcetype: Type.Optional(Type.String({ maxLength: 100 })),
    service: Type.Optional(Type.String({ maxLength: 100 })),
    tags: Type.Optional(Type.String({ maxLength: 500 })),
    token: Type.Optional(
      Type.String({ minLength: 8, maxLength: 500, description: 'Splunk HEC token or Datadog API key (write-only).' }),
    ),
    startFrom: Type.Optional(
      Type.Union([Type.Literal('now'), Type.Literal('beginning')], {
        description: 'Deliver only new events (now, default) or everything still retained.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateStreamBody = Static<typeof CreateStreamBody>;

export const UpdateStreamBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    paused: Type.Optional(Type.Boolean()),
    token: Type.Optional(
      Type.String({
        minLength: 8,
        maxLength: 500,
        description: 'New Splunk HEC token or Datadog API key (write-only).',
      }),
    ),
    rotateWebhookSecret: Type.Optional(
      Type.Boolean({ description: 'Webhook: generate a new signing secret, returned once in this response.' }),
    ),
  },
  { additionalProperties: false },
);
export type UpdateStreamBody = Static<typeof UpdateStreamBody>;

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const StreamViewFields = {
  id: Type.String(),
  name: Type.String(),
  kind: Type.Union(STREAM_KINDS.map((k) => Type.Literal(k))),
  format: Type.String(),
  settings: Type.Object(
    {
      url: Type.Optional(Type.String()),
      host: Type.Optional(Type.String()),
      port: Type.Optional(Type.Integer()),
      serverName: Type.Optional(Type.String()),
      index: Type.Optional(Type.String()),
      sourcetype: Type.Optional(Type.String()),
      service: Type.Optional(Type.String()),
      tags: Type.Optional(Type.String()),
      caConfigured: Type.Optional(
        Type.Boolean({ description: 'syslog_tls: a CA certificate is set (never returned).' }),
      ),
    },
    { description: 'Where events go; tokens and secrets are write-only.' },
  ),
  secretHint: Nullable(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('dead_letter')]),
  health: Type.Object({
    state: Type.Union(
      (['healthy', 'retrying', 'circuit_open', 'stalled', 'dead_letter', 'paused', 'idle'] as const).map((s) =>
        Type.Literal(s),
      ),
    ),
    cursorSeq: Type.Integer(),
    headSeq: Type.Integer(),
    lag: Type.Integer({
      description:
        'Events not yet delivered: head − cursor, plus events recorded but not yet sealed into the chain (batched sealing).',
    }),
    consecutiveFailures: Type.Integer(),
    nextAttemptAt: Nullable(Type.String()),
    lastSuccessAt: Nullable(Type.String()),
    lastError: Nullable(Type.String()),
    lastErrorAt: Nullable(Type.String()),
    stalled: Nullable(
      Type.Object(
        {
          code: Type.Union(
            (
              [
                'delivery_failing',
                'delivery_job_not_running',
                'delivery_job_failing',
                'destination_lease_held',
                'no_progress',
              ] as const
            ).map((c) => Type.Literal(c)),
          ),
          since: Type.String(),
          reason: Type.String(),
        },
        { description: 'Set when events wait and nothing has been delivered for a while: since when, and why.' },
      ),
    ),
  }),
  createdAt: Type.String(),
};
const WebhookSecret = Type.String({ description: 'The webhook signing secret: shown this once.' });

export const AuditStreamView = Type.Object(StreamViewFields, { $id: 'AuditStreamView' });
export const AuditStreamList = Type.Object(
  { data: Type.Array(Type.Ref('AuditStreamView')) },
  { $id: 'AuditStreamList' },
);
export const AuditStreamCreatedView = Type.Object(
  { stream: Type.Ref('AuditStreamView'), webhookSecret: Type.Optional(WebhookSecret) },
  { $id: 'AuditStreamCreatedView' },
);
export const AuditStreamUpdatedView = Type.Object(
  { ...StreamViewFields, webhookSecret: Type.Optional(WebhookSecret) },
  { $id: 'AuditStreamUpdatedView' },
);
export const AuditStreamTestResult = Type.Object(
  {
    ok: Type.Boolean(),
    permanent: Type.Optional(
      Type.Boolean({ description: 'A permanent refusal (4xx other than 408/429): retrying cannot succeed.' }),
    ),
    status: Type.Optional(Type.Integer({ description: "The receiver's HTTP status." })),
    response: Type.Optional(Type.String({ description: "The receiver's answer, as it sent it (truncated)." })),
    error: Type.Optional(Type.String()),
    eventId: Type.String(),
  },
  { $id: 'AuditStreamTestResult' },
);

export interface StreamView {
  id: string;
  name: string;
  kind: StreamKind;
  format: string;
  settings: Omit<StreamSettings, 'caPem'> & { caConfigured?: boolean };
  secretHint: string | null;
  status: 'active' | 'paused' | 'dead_letter';
  health: {
    state: 'healthy' | 'retrying' | 'circuit_open' | 'stalled' | 'dead_letter' | 'paused' | 'idle';
    cursorSeq: number;
    headSeq: number;
    /** head − cursor: events not yet delivered. */
    lag: number;
    consecutiveFailures: number;
    nextAttemptAt: string | null;
    lastSuccessAt: string | null;
    lastError: string | null;
    lastErrorAt: string | null;
    /** Set when events wait and nothing has been delivered for PALISADE_AUDIT_STREAM_STALL_SECONDS: since when, and why. */
    stalled: StreamStall | null;
  };
  createdAt: string;
}

type ViewCtx = Pick<Ctx, 'db' | 'clock' | 'config'>;

/** The delivery job's lease row (read once for a list of destinations). */
async function deliveryJob(db: Ctx['db'], now: Date): Promise<JobStatus | undefined> {
  return (await jobStatuses(db, now)).find((j) => j.name === DELIVERY_JOB);
}

export async function streamView(ctx: ViewCtx, row: AuditStreamsTable, job?: JobStatus | null): Promise<StreamView> {
  const { db } = ctx;
  const now = ctx.clock.now();
  // The head and what waits to be sealed in one statement (one snapshot): see waitingEvents.
  const snap = await db
    .selectNoFrom((eb) => [
      eb.selectFrom('audit_chain_heads').select('seq').where('org_id', '=', row.org_id).as('head_seq'),
      eb
        .selectFrom('audit_pending')
        .select((p) => p.fn.countAll<number | string>().as('n'))
        .where('org_id', '=', row.org_id)
        .as('pending_count'),
      eb
        .selectFrom('audit_pending')
        .select((p) => p.fn.min('occurred_at').as('m'))
        .where('org_id', '=', row.org_id)
        .as('pending_oldest'),
    ])
    .executeTakeFirstOrThrow();
  const headSeq = Number(snap.head_seq ?? 0);
  const cursorSeq = Number(row.cursor_seq);
  const { caPem, ...settings } = JSON.parse(row.settings) as StreamSettings;
  const failures = Number(row.failures);
  const unsealed = { count: Number(snap.pending_count ?? 0), oldestAt: snap.pending_oldest ?? null };
  const { lag, oldestPendingAt } = await waitingEvents(db, row, headSeq, unsealed);
  const stalled =
    row.status === 'active' && lag > 0
      ? streamStallOf(
          {
            row,
            lag,
            oldestPendingAt,
            job: job === undefined ? await deliveryJob(db, now) : (job ?? undefined),
          },
          now,
          ctx.config.auditStreamStallSeconds * 1000,
        )
      : null;
  const state: StreamView['health']['state'] =
    row.status === 'dead_letter'
      ? 'dead_letter'
      : row.status === 'paused'
        ? 'paused'
        : failures >= CIRCUIT_THRESHOLD
          ? 'circuit_open'
          : failures > 0
            ? 'retrying'
            : stalled
              ? 'stalled'
              : row.last_success_at
                ? 'healthy'
                : 'idle';
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    format: row.format,
    settings: { ...settings, ...(caPem ? { caConfigured: true } : {}) },
    secretHint: row.secret_hint,
    status: row.status,
    health: {
      state,
      cursorSeq,
      headSeq,
      lag,
      consecutiveFailures: failures,
      nextAttemptAt: row.next_attempt_at,
      lastSuccessAt: row.last_success_at,
      lastError: row.last_error,
      lastErrorAt: row.last_error_at,
      stalled,
    },
    createdAt: row.created_at,
  };
}

/**
 * Checks a destination before it is stored. The outbound policy is applied here (a clear 400
 * destination_address_denied) and again at every connection, where it is what actually protects:
 * DNS can change between the two.
 */
async function validate(ctx: Ctx, body: CreateStreamBody): Promise<StreamSettings> {
  const syslog = body.kind === 'syslog_tcp' || body.kind === 'syslog_tls';
  if (body.format === 'cef' && !syslog)
    throw badRequest('format_not_supported', 'CEF is a syslog format; use palisade or ocsf for HTTP destinations.');
  if (syslog) {
    if (!body.host || !body.port)
      throw badRequest(
        'syslog_address_required',
        'A syslog destination needs host and port (e.g. siem.example.com and 6514).',
      );
    // Stored as a connection would read it: 2130706433 or 0177.0.0.1 become 127.0.0.1, [::1] becomes ::1.
    const host = normalizeHost(body.host);
    await assertDestinationAllowed(ctx.config, host);
    return {
      host,
      port: body.port,
      ...(body.caPem ? { caPem: body.caPem } : {}),
      ...(body.serverName ? { serverName: body.serverName } : {}),
    };
  }
  if (!body.url) throw badRequest('url_required', `A ${body.kind} destination needs url.`);
  let url: URL;
  try {
    url = new URL(body.url);
  } catch {
    throw badRequest('invalid_url', 'url is not a URL; use https://…');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ctx.config.auditStreamsAllowHttp)) {
    throw badRequest(
      'https_required',
      'Audit events leave Palisade only over HTTPS; use an https:// URL (for a lab receiver on plain http://, start Palisade with PALISADE_AUDIT_STREAMS_ALLOW_HTTP=true).',
    );
  }
  if (url.username || url.password)
    throw badRequest('credentials_in_url', 'Put the token in the token field, not in the URL.');
  if ((body.kind === 'splunk_hec' || body.kind === 'datadog') && !body.token)
    throw badRequest('token_required', `A ${body.kind} destination needs its token (HEC token or Datadog API key).`);
  await assertDestinationAllowed(ctx.config, url.hostname);
  return {
    url: url.toString(),
    ...(body.index ? { index: body.index } : {}),
    ...(body.sourcetype ? { sourcetype: body.sourcetype } : {}),
    ...(body.service ? { service: body.service } : {}),
    ...(body.tags ? { tags: body.tags } : {}),
  };
}

/** Scheme, host and path only: a query string may carry a token, and audit metadata never holds secrets. */
function redactUrl(u: string): string {
  const url = new URL(u);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

async function loadStream(ctx: Ctx, orgId: string, streamId: string): Promise<AuditStreamsTable> {
  const row = await ctx.db
    .selectFrom('audit_streams')
    .selectAll()
    .where('id', '=', streamId)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) throw notFound('audit stream');
  return row;
}

/** Creates a destination. The webhook signing secret is generated here and returned once; tokens are write-only and stored sealed. */
export async function createStream(
  ctx: Ctx,
  orgId: string,
  body: CreateStreamBody,
): Promise<{ stream: StreamView; webhookSecret?: string }> {
  await authorize(ctx, orgId, 'audit.manage');
  const settings = await validate(ctx, body);
  const webhookSecret = body.kind === 'webhook' ? `whsec_${randomBytes(32).toString('base64url')}` : undefined;
  const secret = webhookSecret ?? body.token ?? null;
  const at = ctx.clock.now().toISOString();
  const id = newId('ast', ctx.clock.now());
  const row = await ctx.db.transaction().execute(async (tx) => {
    const head = await tx.selectFrom('audit_chain_heads').select('seq').where('org_id', '=', orgId).executeTakeFirst();
    const anchor = await tx
      .selectFrom('audit_anchors')
      .select('first_seq')
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    const cursor = body.startFrom === 'beginning' ? Number(anchor?.first_seq ?? 1) - 1 : Number(head?.seq ?? 0);
    const sealed = secret
      ? await sealStreamSecret(tx, ctx.config, ctx.clock.now(), orgId, id, secret)
      : { secret: null, secret_ct: null, secret_key_version: null, secret_hint: null };
    const values: AuditStreamsTable = {
      id,
      org_id: orgId,
      name: body.name.trim(),
      kind: body.kind,
      format: body.format ?? 'palisade',
      settings: JSON.stringify(settings),
      ...sealed,
      status: 'active',
      cursor_seq: cursor,
      failures: 0,
      next_attempt_at: null,
      last_success_at: null,
      last_error: null,
      last_error_at: null,
      lease_owner: null,
      lease_until: null,
      inflight_to_seq: null,
      created_at: at,
      updated_at: at,
    };
    await tx.insertInto('audit_streams').values(values).execute();
    // The creation event itself is after the cursor, so it is the first thing the SIEM receives.
    await recordAudit(tx, ctx, {
      orgId,
      action: 'stream.created',
      targets: [{ type: 'audit_stream', id, name: values.name }],
      metadata: {
        kind: body.kind,
        format: values.format,
        startFrom: body.startFrom ?? 'now',
        destination: settings.url ? redactUrl(settings.url) : `${settings.host}:${settings.port}`,
      },
    });
    return values;
  });
  return { stream: await streamView(ctx, row), ...(webhookSecret ? { webhookSecret } : {}) };
}

export async function listStreams(ctx: Ctx, orgId: string): Promise<{ data: StreamView[] }> {
  await authorize(ctx, orgId, 'audit.read');
  const rows = await ctx.db.selectFrom('audit_streams').selectAll().where('org_id', '=', orgId).orderBy('id').execute();
  const job = (await deliveryJob(ctx.db, ctx.clock.now())) ?? null;
  return { data: await Promise.all(rows.map((r) => streamView(ctx, r, job))) };
}

export async function getStream(ctx: Ctx, orgId: string, streamId: string): Promise<StreamView> {
  await authorize(ctx, orgId, 'audit.read');
  return streamView(ctx, await loadStream(ctx, orgId, streamId));
}

export async function updateStream(
  ctx: Ctx,
  orgId: string,
  streamId: string,
  body: UpdateStreamBody,
): Promise<StreamView & { webhookSecret?: string }> {
  await authorize(ctx, orgId, 'audit.manage');
  let webhookSecret: string | undefined;
  const row = await ctx.db.transaction().execute(async (tx) => {
    const current = await loadStream({ ...ctx, db: tx as unknown as Ctx['db'] }, orgId, streamId);
    const next: Partial<AuditStreamsTable> = { updated_at: ctx.clock.now().toISOString() };
    let newSecret: string | undefined;
    if (body.name !== undefined) next.name = body.name.trim();
    if (body.paused === true && current.status !== 'paused') next.status = 'paused';
    if (body.paused === false && current.status === 'paused') next.status = 'active';
    if (body.token !== undefined) {
      if (current.kind !== 'splunk_hec' && current.kind !== 'datadog')
        throw badRequest('token_not_used', `A ${current.kind} destination has no token.`);
      newSecret = body.token;
    }
    if (body.rotateWebhookSecret) {
      if (current.kind !== 'webhook')
        throw badRequest('not_a_webhook', 'Only webhook destinations have a signing secret.');
      webhookSecret = `whsec_${randomBytes(32).toString('base64url')}`;
      newSecret = webhookSecret;
    }
    if (newSecret !== undefined)
      Object.assign(next, await sealStreamSecret(tx, ctx.config, ctx.clock.now(), orgId, streamId, newSecret));
    await tx.updateTable('audit_streams').set(next).where('id', '=', streamId).execute();
    const action =
      newSecret !== undefined
        ? 'stream.credentials_rotated'
        : body.paused === true
          ? 'stream.paused'
          : body.paused === false
            ? 'stream.resumed'
            : 'stream.updated';
    await recordAudit(tx, ctx, {
      orgId,
      action,
      targets: [{ type: 'audit_stream', id: streamId, name: next.name ?? current.name }],
      metadata: {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.paused !== undefined ? { paused: body.paused } : {}),
      },
    });
    return { ...current, ...next };
  });
  return { ...(await streamView(ctx, row)), ...(webhookSecret ? { webhookSecret } : {}) };
}

export async function deleteStream(ctx: Ctx, orgId: string, streamId: string): Promise<void> {
  await authorize(ctx, orgId, 'audit.manage');
  await ctx.db.transaction().execute(async (tx) => {
    const current = await loadStream({ ...ctx, db: tx as unknown as Ctx['db'] }, orgId, streamId);
    await tx.deleteFrom('audit_streams').where('id', '=', streamId).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'stream.deleted',
      targets: [{ type: 'audit_stream', id: streamId, name: current.name }],
      metadata: { kind: current.kind },
    });
  });
}

/** Leaves dead-letter (or resets the backoff) so delivery resumes from the cursor at the next run. */
export async function retryStream(ctx: Ctx, orgId: string, streamId: string): Promise<StreamView> {
  await authorize(ctx, orgId, 'audit.manage');
  const row = await ctx.db.transaction().execute(async (tx) => {
    const current = await loadStream({ ...ctx, db: tx as unknown as Ctx['db'] }, orgId, streamId);
    const next = {
      status: current.status === 'paused' ? ('paused' as const) : ('active' as const),
      next_attempt_at: null,
      updated_at: ctx.clock.now().toISOString(),
    };
    await tx.updateTable('audit_streams').set(next).where('id', '=', streamId).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'stream.retried',
      targets: [{ type: 'audit_stream', id: streamId, name: current.name }],
      metadata: { fromStatus: current.status, failures: current.failures },
    });
    return { ...current, ...next };
  });
  return streamView(ctx, row);
}

/** Sends one synthetic event (not in the chain, not moving the cursor) and shows the receiver's exact answer. */
export async function sendTestEvent(
  ctx: Ctx,
  orgId: string,
  streamId: string,
): Promise<DeliveryResult & { eventId: string }> {
  await authorize(ctx, orgId, 'audit.manage');
  const row = await loadStream(ctx, orgId, streamId);
  const now = ctx.clock.now();
  const event: AuditEvent = {
    id: newId('evt', now),
    orgId,
    seq: 0,
    occurredAt: now.toISOString(),
    actor: { type: 'system', id: 'palisade', email: null, ip: null, userAgent: null },
    action: 'stream.test_sent',
    targets: [{ type: 'audit_stream', id: row.id, name: row.name }],
    outcome: 'success',
    metadata: { test: true },
    requestId: ctx.meta.requestId,
    prevHash: '0'.repeat(64),
    hash: '0'.repeat(64),
  };
  const result = await deliverRow(ctx, row, [event], now);
  await ctx.db.transaction().execute((tx) =>
    recordAudit(tx, ctx, {
      orgId,
      action: 'stream.tested',
      outcome: result.ok ? 'success' : 'failure',
      targets: [{ type: 'audit_stream', id: row.id, name: row.name }],
      metadata: { status: result.status ?? null },
    }),
  );
  return { ...result, eventId: event.id };
}
