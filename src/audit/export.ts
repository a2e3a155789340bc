import { Type, type Static } from '@sinclair/typebox';
import { stringify } from 'csv-stringify/sync';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { sqliteHandleOf } from '../db/connect.js';
import { badRequest } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import { type AuditActor, type AuditEvent, type AuditOutcome, type AuditTarget, eventFromRow } from './event.js';
import { recordAudit } from './record.js';
import { AuditSearchQuery, applyAuditFilters, parseTime } from './search.js';

export const EXPORT_FORMATS = ['ndjson', 'json', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const { limit: _l, cursor: _c, order: _o, ...filterProps } = AuditSearchQuery.properties;
export const AuditExportQuery = Type.Object(
  {
    ...filterProps,
    format: Type.Optional(
      Type.Union(
        EXPORT_FORMATS.map((f) => Type.Literal(f)),
        { description: 'ndjson (default), json (one array) or csv (RFC 4180).' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type AuditExportQuery = Static<typeof AuditExportQuery>;

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
};

/** CSV columns, in order. Nested values (targets, metadata) are canonical JSON in one cell. */
export const CSV_COLUMNS = [
  'id',
  'orgId',
  'seq',
  'occurredAt',
  'actorType',
  'actorId',
  'actorEmail',
  'actorIp',
  'actorUserAgent',
  'action',
  'targets',
  'outcome',
  'metadata',
  'requestId',
  'prevHash',
  'hash',
] as const;

const PAGE = 1000;

/**
 * Spreadsheet formula injection (CWE-1236): a cell starting with = + - @ tab or CR is prefixed with
 * a single quote. A cell that already starts with a quote gets one more, so the escape is reversible
 * (`csvUnescapeCell`) and a re-parsed export verifies byte for byte.
 */
export function csvEscapeCell(v: string): string {
  return /^[=+\-@\t\r']/.test(v) ? `'${v}` : v;
}
export function csvUnescapeCell(v: string): string {
  return v.startsWith("'") ? v.slice(1) : v;
}

/** Every string is quoted and a null is a bare empty cell, so null and "" stay distinct. */
function cell(v: string | null): string | null {
  return v === null ? null : csvEscapeCell(v);
}

export function eventToCsvRecord(e: AuditEvent): (string | null)[] {
  return [
    e.id,
    e.orgId,
    String(e.seq),
    e.occurredAt,
    e.actor.type,
    e.actor.id,
    e.actor.email,
    e.actor.ip,
    e.actor.userAgent,
    e.action,
    JSON.stringify(e.targets),
    e.outcome,
    JSON.stringify(e.metadata),
    e.requestId,
    e.prevHash,
    e.hash,
  ].map(cell);
}

/** csv-parse options that read an export back: header row, and a bare empty cell is null. */
export const CSV_PARSE_OPTIONS = {
  columns: true,
  cast: (value: string, context: { quoting: boolean }) => (value === '' && !context.quoting ? null : value),
} as const;

/** The inverse of eventToCsvRecord, for `palisade audit verify` and round-trip tests. */
export function eventFromCsvRecord(r: Record<string, string | null>): AuditEvent {
  const n = (k: string): string | null => (r[k] === null || r[k] === undefined ? null : csvUnescapeCell(r[k]));
  const s = (k: string): string => n(k) ?? '';
  return {
    id: s('id'),
    orgId: s('orgId'),
    seq: Number(s('seq')),
    occurredAt: s('occurredAt'),
    actor: {
      type: s('actorType') as AuditActor['type'],
      id: n('actorId'),
      email: n('actorEmail'),
      ip: n('actorIp'),
      userAgent: n('actorUserAgent'),
    },
    action: s('action'),
    targets: JSON.parse(s('targets')) as AuditTarget[],
    outcome: s('outcome') as AuditOutcome,
    metadata: JSON.parse(s('metadata')) as Record<string, unknown>,
    requestId: n('requestId'),
    prevHash: s('prevHash'),
    hash: s('hash'),
  };
}

export interface ExportSelection {
  orgId: string;
  query: AuditExportQuery;
  /** Last seq included: the head when the export started, so the file is a consistent snapshot. */
  upToSeq: number;
}

/**
 * Events in chain order (seq ascending), one keyset page at a time: memory stays constant whatever
 * the size of the export.
 */
export async function* exportEvents(db: Queryable, sel: ExportSelection): AsyncGenerator<AuditEvent> {
  const from = parseTime(sel.query.from, 'from');
  const to = parseTime(sel.query.to, 'to');
  let after = 0;
  for (;;) {
    const q = applyAuditFilters(
      db
        .selectFrom('audit_events')
        .selectAll()
        .where('org_id', '=', sel.orgId)
        .where('seq', '>', after)
        .where('seq', '<=', sel.upToSeq),
      sel.orgId,
      sel.query,
      from,
      to,
      sqliteHandleOf(db) !== undefined,
    );
    const rows = await q.orderBy('seq').limit(PAGE).execute();
    for (const row of rows) yield eventFromRow(row);
    if (rows.length < PAGE) return;
    after = Number(rows[rows.length - 1]!.seq);
  }
}

/** Serializes events as the chosen format, in chunks of about one page. */
export async function* serialize(events: AsyncIterable<AuditEvent>, format: ExportFormat): AsyncGenerator<string> {
  let buf = '';
  let first = true;
  if (format === 'json') buf = '[';
  if (format === 'csv') buf = stringify([[...CSV_COLUMNS]], { quoted_string: true });
  let n = 0;
  for await (const e of events) {
    if (format === 'ndjson') buf += `${JSON.stringify(e)}\n`;
    else if (format === 'json') buf += `${first ? '\n' : ',\n'}${JSON.stringify(e)}`;
    else buf += stringify([eventToCsvRecord(e)], { quoted_string: true });
    first = false;
    if (++n % PAGE === 0) {
      yield buf;
      buf = '';
    }
  }
  if (format === 'json') buf += first ? ']\n' : '\n]\n';
  if (buf) yield buf;
}

export interface StartedExport {
  format: ExportFormat;
  filename: string;
  contentType: string;
  body: AsyncGenerator<string>;
}

/** Authorizes, records the export as an audit event, and returns the streamed body. */
export async function startExport(ctx: Ctx, orgId: string, query: AuditExportQuery): Promise<StartedExport> {
  await authorize(ctx, orgId, 'audit.read');
  const format = query.format ?? 'ndjson';
  const from = parseTime(query.from, 'from');
  const to = parseTime(query.to, 'to');
  if (from && to && from >= to) throw badRequest('invalid_time_range', '`from` must be earlier than `to`.');
  const upToSeq = await ctx.db.transaction().execute(async (tx) => {
    const head = await tx.selectFrom('audit_chain_heads').select('seq').where('org_id', '=', orgId).executeTakeFirst();
    const { format: _f, ...filters } = query;
    await recordAudit(tx, ctx, {
      orgId,
      action: 'audit.exported',
      targets: [{ type: 'organization', id: orgId }],
      metadata: { format, filters, upToSeq: Number(head?.seq ?? 0) },
    });
    return Number(head?.seq ?? 0);
  });
  const stamp = ctx.clock.now().toISOString().replace(/[:.]/g, '-');
  return {
    format,
    filename: `audit-${orgId}-${stamp}.${format === 'ndjson' ? 'ndjson' : format}`,
    contentType: CONTENT_TYPES[format],
    body: serialize(exportEvents(ctx.db, { orgId, query, upToSeq }), format),
  };
}
