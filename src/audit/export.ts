import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { sqliteHandleOf } from '../db/connect.js';
import { cellsOf } from '../db/raw-rows.js';
import { badRequest } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import type { AuditEventRow } from '../db/schema.js';
import { type AuditActor, type AuditEvent, type AuditOutcome, type AuditTarget, eventFromRow } from './event.js';
import { AUDIT_EVENT_COLUMNS, auditRowFromCells, recordAudit } from './record.js';
import { AuditSearchQuery, applyAuditFilters, parseTime } from './search.js';
import { sealPendingAudit } from './seal.js';

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
 * Rows per page read from the database, and per chunk written to the response. Larger pages were
 * measured slower (5,000: half the rate): their rows and text outlive V8's young generation and
 * every page then costs a full garbage collection.
 */
const EXPORT_PAGE = 1000;

/**
 * Stored rows in chain order (seq ascending), one keyset page at a time: memory stays constant
 * whatever the size of the export.
 */
export async function* exportPages(db: Queryable, sel: ExportSelection): AsyncGenerator<AuditEventRow[]> {
  const from = parseTime(sel.query.from, 'from');
  const to = parseTime(sel.query.to, 'to');
  const sqlite = sqliteHandleOf(db) !== undefined;
  let after = 0;
  for (;;) {
    const q = applyAuditFilters(
      db
        .selectFrom('audit_events')
        .select([...AUDIT_EVENT_COLUMNS])
        .where('org_id', '=', sel.orgId)
        .where('seq', '>', after)
        .where('seq', '<=', sel.upToSeq),
      sel.orgId,
      sel.query,
      from,
      to,
      sqlite,
    ).orderBy('seq');
    // The page as arrays, then one object of a fixed shape per row, built here: the drivers building
    // the objects themselves was a third of an export's time.
    const page = q.limit(EXPORT_PAGE);
    const cells = await cellsOf(db, page.compile());
    const rows = cells ? cells.map(auditRowFromCells) : await page.execute();
    if (rows.length) yield rows;
    if (rows.length < EXPORT_PAGE) return;
    after = Number(rows[rows.length - 1]!.seq);
  }
}

/** Events in chain order, for callers that want objects rather than a file. */
export async function* exportEvents(db: Queryable, sel: ExportSelection): AsyncGenerator<AuditEvent> {
  for await (const page of exportPages(db, sel)) for (const row of page) yield eventFromRow(row);
}

/*
 * The encoders below write a stored row straight to its line. Targets and metadata are stored as
 * canonical JSON (RFC 8785, written by recordAudit), which is already the JSON text the export
 * carries, so they are copied rather than parsed and re-serialized (that round trip was most of the
 * export's cost). Every other value goes through JSON.stringify or the CSV quoting rule. The line
 * is the same as serializing `eventFromRow(row)` with JSON.stringify or csv-stringify, except that
 * an object whose keys look like integers keeps its canonical key order (JavaScript objects move
 * such keys first); both verify (test/audit/export-encoding.test.ts).
 */
const js = JSON.stringify;
const jsOrNull = (v: string | null): string => (v === null ? 'null' : js(v));

/** One event as a JSON object, the fields in AuditEvent's order. */
export function rowToJson(r: AuditEventRow): string {
  return `{"id":${js(r.id)},"orgId":${js(r.org_id)},"seq":${Number(r.seq)},"occurredAt":${js(r.occurred_at)},"actor":{"type":${js(r.actor_type)},"id":${jsOrNull(r.actor_id)},"email":${jsOrNull(r.actor_email)},"ip":${jsOrNull(r.actor_ip)},"userAgent":${jsOrNull(r.actor_user_agent)}},"action":${js(r.action)},"targets":${r.targets},"outcome":${js(r.outcome)},"metadata":${r.metadata},"requestId":${jsOrNull(r.request_id)},"prevHash":${js(r.prev_hash)},"hash":${js(r.hash)}}`;
}

/** RFC 4180: every string quoted (quotes doubled), null a bare empty cell; formula prefixes escaped. */
const q = (v: string | null): string => {
  if (v === null) return '';
  // csvEscapeCell's rule, by character code: this runs for 16 cells of every exported event.
  const c = v.charCodeAt(0);
  const cell = c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13 || c === 39 ? `'${v}` : v;
  return `"${cell.includes('"') ? cell.replace(/"/g, '""') : cell}"`;
};

/** One event as a CSV line in CSV_COLUMNS order. */
export function rowToCsvLine(r: AuditEventRow): string {
  return `${q(r.id)},${q(r.org_id)},${q(String(r.seq))},${q(r.occurred_at)},${q(r.actor_type)},${q(r.actor_id)},${q(r.actor_email)},${q(r.actor_ip)},${q(r.actor_user_agent)},${q(r.action)},${q(r.targets)},${q(r.outcome)},${q(r.metadata)},${q(r.request_id)},${q(r.prev_hash)},${q(r.hash)}\n`;
}

const CSV_HEADER = `${CSV_COLUMNS.map((c) => `"${c}"`).join(',')}\n`;

/** Serializes pages of rows as the chosen format, one chunk per page. */
export async function* serializePages(
  pages: AsyncIterable<AuditEventRow[]>,
  format: ExportFormat,
): AsyncGenerator<string> {
  let first = true;
  yield format === 'json' ? '[' : format === 'csv' ? CSV_HEADER : '';
  for await (const page of pages) {
    let buf = '';
    if (format === 'ndjson') for (const r of page) buf += `${rowToJson(r)}\n`;
    else if (format === 'csv') for (const r of page) buf += rowToCsvLine(r);
    else
      for (const r of page) {
        buf += `${first ? '\n' : ',\n'}${rowToJson(r)}`;
        first = false;
      }
    yield buf;
  }
  if (format === 'json') yield first ? ']\n' : '\n]\n';
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
  await sealPendingAudit(ctx.db, orgId);
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
    body: serializePages(exportPages(ctx.db, { orgId, query, upToSeq }), format),
  };
}
