import { VERSION } from '../version.js';
import { OCSF_ACTIVITIES } from '../audit/action-spec.js';
import { auditActionSpec } from '../audit/actions.js';
import type { AuditEvent } from '../audit/event.js';

/**
 * The three payload formats a destination can receive. Every mapping is documented in
 * docs/audit-streams.md; change both together.
 */
export type StreamFormat = 'palisade' | 'ocsf' | 'cef';

/** Palisade JSON: the event exactly as the API and exports carry it (hashes included, so a SIEM can re-verify). */
export function toPalisadeJson(e: AuditEvent): Record<string, unknown> {
  return { ...e };
}

// --- OCSF 1.1 ---------------------------------------------------------------------------------
export const OCSF_VERSION = '1.1.0';

interface OcsfClass {
  classUid: number;
  className: string;
  categoryUid: number;
  categoryName: string;
  activityId: number;
  activityName: string;
}

const CLASSES: Record<number, Pick<OcsfClass, 'className' | 'categoryUid' | 'categoryName'>> = {
  3001: { className: 'Account Change', categoryUid: 3, categoryName: 'Identity & Access Management' },
  3002: { className: 'Authentication', categoryUid: 3, categoryName: 'Identity & Access Management' },
  6003: { className: 'API Activity', categoryUid: 6, categoryName: 'Application Activity' },
};

/**
 * The OCSF class and activity of an action, as its domain's `audit-actions.ts` declares it (events
 * stored under a former name map like the current one). Sign-ins are Authentication, changes to a
 * person's account are Account Change, every other administrative change is API Activity; an
 * undeclared name (none is written today) is API Activity: Other.
 */
export function ocsfClassOf(action: string): OcsfClass {
  const declared = auditActionSpec(action)?.ocsf ?? 'API Activity: Other';
  const { classUid, activityId } = OCSF_ACTIVITIES[declared];
  const activityName = declared.slice(declared.indexOf(': ') + 2);
  return { classUid, ...(CLASSES[classUid] as (typeof CLASSES)[number]), activityId, activityName };
}

const OCSF_STATUS = { success: [1, 'Success'], failure: [2, 'Failure'], denied: [2, 'Failure'] } as const;

export function toOcsf(e: AuditEvent): Record<string, unknown> {
  const c = ocsfClassOf(e.action);
  const [statusId, status] = OCSF_STATUS[e.outcome];
  const userOf = (t: AuditEvent['targets'][number] | undefined) =>
    t ? { uid: t.id, name: t.name ?? null, type: t.type } : undefined;
  const targetUser = e.targets.find((t) => t.type === 'user' || t.type === 'member') ?? e.targets[0];
  const out: Record<string, unknown> = {
    class_uid: c.classUid,
    class_name: c.className,
    category_uid: c.categoryUid,
    category_name: c.categoryName,
    activity_id: c.activityId,
    activity_name: c.activityName,
    type_uid: c.classUid * 100 + c.activityId,
    type_name: `${c.className}: ${c.activityName}`,
    time: Date.parse(e.occurredAt),
    severity_id: e.outcome === 'success' ? 1 : 3,
    severity: e.outcome === 'success' ? 'Informational' : 'Medium',
    status_id: statusId,
    status,
    status_detail: e.outcome,
    message: e.action,
    metadata: {
      version: OCSF_VERSION,
      uid: e.id,
      sequence: e.seq,
      correlation_uid: e.requestId,
      tenant_uid: e.orgId,
      log_name: 'audit',
      product: { name: 'Palisade', vendor_name: 'Palisade', version: VERSION },
    },
    actor: { user: { uid: e.actor.id, email_addr: e.actor.email, type: e.actor.type } },
    src_endpoint: { ip: e.actor.ip },
    http_request: { user_agent: e.actor.userAgent },
    unmapped: { action: e.action, targets: e.targets, metadata: e.metadata, hash: e.hash, prev_hash: e.prevHash },
  };
  // Authentication and Account Change are about a user: the targeted one, else the actor.
  if (c.classUid === 3002 || c.classUid === 3001)
    out.user = userOf(targetUser) ?? { uid: e.actor.id, email_addr: e.actor.email, type: e.actor.type };
  if (c.classUid === 6003) {
    out.api = { operation: e.action, request: { uid: e.requestId }, service: { name: 'palisade' } };
    out.resources = e.targets.map((t) => ({ uid: t.id, type: t.type, name: t.name ?? null }));
  }
  return out;
}

// --- CEF (ArcSight Common Event Format, rev. 25) ---------------------------------------------
const cefHeader = (v: string) =>
  v
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
const cefValue = (v: string) =>
  v
    .replace(/\\/g, '\\\\')
    .replace(/=/g, '\\=')
    .replace(/\r?\n|\r/g, '\\n');

export function toCef(e: AuditEvent): string {
  const severity = e.outcome === 'success' ? 3 : e.outcome === 'denied' ? 6 : 5;
  const ext: [string, string | number | null][] = [
    ['rt', Date.parse(e.occurredAt)],
    ['externalId', e.id],
    ['act', e.action],
    ['outcome', e.outcome],
    ['suser', e.actor.email],
    ['suid', e.actor.id],
    ['src', e.actor.ip],
    ['requestClientApplication', e.actor.userAgent],
    ['duid', e.targets[0]?.id ?? null],
    ['duser', e.targets[0]?.name ?? null],
    ['cs1Label', 'orgId'],
    ['cs1', e.orgId],
    ['cs2Label', 'targets'],
    ['cs2', JSON.stringify(e.targets)],
    ['cs3Label', 'metadata'],
    ['cs3', JSON.stringify(e.metadata)],
    ['cs4Label', 'requestId'],
    ['cs4', e.requestId],
    ['cs5Label', 'hash'],
    ['cs5', e.hash],
    ['cs6Label', 'actorType'],
    ['cs6', e.actor.type],
    ['cn1Label', 'seq'],
    ['cn1', e.seq],
  ];
  const extension = ext
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => `${k}=${cefValue(String(v))}`)
    .join(' ');
  return `CEF:0|Palisade|Palisade|${cefHeader(VERSION)}|${cefHeader(e.action)}|${cefHeader(e.action)}|${severity}|${extension}`;
}

export function formatBody(e: AuditEvent, format: StreamFormat): string {
  if (format === 'cef') return toCef(e);
  return JSON.stringify(format === 'ocsf' ? toOcsf(e) : toPalisadeJson(e));
}

// --- Syslog (RFC 5424) with octet-counting framing (RFC 6587 §3.4.1, RFC 5425 §4.3) ----------
/** Private Enterprise Number 32473 is the one RFC 5612 reserves for documentation and examples. */
export const SD_ID = 'palisade@32473';
const sdParam = (v: string) => v.replace(/[\\"\]]/g, (c) => `\\${c}`);
const printable = (v: string, max: number) => v.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';

/**
 * `redelivery`: the event belongs to a batch that was in flight when the process sending it stopped
 * (crash, lost lease), so the receiver may already have it: the SD parameter `redelivery="true"`
 * says so, and `eventId` is the key to deduplicate on.
 */
export function toSyslog(e: AuditEvent, format: StreamFormat, hostname: string, redelivery = false): string {
  // Facility 10 (security/authorization), severity 6 (informational) or 4 (warning) for failures.
  const pri = 10 * 8 + (e.outcome === 'success' ? 6 : 4);
  const sd = `[${SD_ID} eventId="${sdParam(e.id)}" orgId="${sdParam(e.orgId)}" seq="${e.seq}" outcome="${e.outcome}"${redelivery ? ' redelivery="true"' : ''}]`;
  return `<${pri}>1 ${e.occurredAt} ${printable(hostname, 255)} palisade - ${printable(e.action, 32)} ${sd} \uFEFF${formatBody(e, format)}`;
}

export function frameOctetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}
