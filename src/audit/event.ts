import canonicalize from 'canonicalize';
import { createHash, hash as oneShotHash } from 'node:crypto';
import type { AuditEventRow } from '../db/schema.js';

export type AuditOutcome = 'success' | 'failure' | 'denied';
export type ActorType = 'user' | 'api_token' | 'system' | 'anonymous' | 'compliance_key';

export interface AuditActor {
  type: ActorType;
  id: string | null;
  email: string | null;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditTarget {
  type: string;
  id: string;
  name?: string;
}

/** The public shape of an audit event, as the API, exports and SIEM streams carry it. */
export interface AuditEvent {
  id: string;
  orgId: string;
  seq: number;
  occurredAt: string;
  actor: AuditActor;
  action: string;
  targets: AuditTarget[];
  outcome: AuditOutcome;
  metadata: Record<string, unknown>;
  requestId: string | null;
  prevHash: string;
  hash: string;
}

/** Installation-level events (e.g. a failed login for an unknown email) go to this chain. */
export const SYSTEM_CHAIN = 'system';
export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) throw new Error('value cannot be canonicalized');
  return out;
}

const FALLBACK = Symbol('fallback');
// String.prototype.isWellFormed (Node 20) is not in the ES2022 lib typings.
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function fastCanonical(v: unknown, depth: number): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      if (!wellFormed(v)) throw FALLBACK;
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw FALLBACK;
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (depth > 64) throw FALLBACK;
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          out +=
            (i ? ',' : '') +
            (x === undefined || typeof x === 'symbol' || typeof x === 'function'
              ? 'null'
              : fastCanonical(x, depth + 1));
        }
        return `${out}]`;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function')
        throw FALLBACK;
      const keys = Object.keys(v).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined || typeof x === 'symbol' || typeof x === 'function') continue;
        if (!wellFormed(k)) throw FALLBACK;
        out += `${first ? '' : ','}${JSON.stringify(k)}:${fastCanonical(x, depth + 1)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw FALLBACK;
  }
}

/**
 * Same output as canonicalJson (RFC 8785) for plain JSON data, several times faster: the audit
 * write path serializes targets and metadata with it. Anything unusual (toJSON, class instances,
 * non-finite numbers, lone surrogates, deep nesting) goes through the reference implementation.
 * A test holds the two equal.
 */
export function canonicalJsonFast(value: unknown): string {
  try {
    return fastCanonical(value, 0);
  } catch (err) {
    if (err === FALLBACK) return canonicalJson(value);
    throw err;
  }
}

type HashedFields = Omit<AuditEvent, 'hash' | 'prevHash'>;

/**
 * The bytes an event's hash covers: every field but the hashes themselves, as RFC 8785 canonical
 * JSON, so an export re-serialized by any JSON library verifies the same way.
 */
export function hashedContent(e: HashedFields): string {
  return hashedContentFromParts(e, canonicalJson(e.targets), canonicalJson(e.metadata));
}

const str = (v: string | null): string => (v === null ? 'null' : JSON.stringify(v));

/**
 * Same bytes as `canonicalJson(event)`, assembled from already-canonical targets and metadata: the
 * write path serializes those once for storage and reuses them here. Keys are in RFC 8785 order
 * (UTF-16 code units); a test holds this equal to the generic canonicalizer.
 */
export function hashedContentFromParts(
  e: Omit<HashedFields, 'targets' | 'metadata'>,
  targetsJson: string,
  metadataJson: string,
): string {
  const a = e.actor;
  return (
    `{"action":${str(e.action)},"actor":{"email":${str(a.email)},"id":${str(a.id)},"ip":${str(a.ip)},"type":${str(a.type)},"userAgent":${str(a.userAgent)}}` +
    `,"id":${str(e.id)},"metadata":${metadataJson},"occurredAt":${str(e.occurredAt)},"orgId":${str(e.orgId)},"outcome":${str(e.outcome)}` +
    `,"requestId":${str(e.requestId)},"seq":${String(e.seq)},"targets":${targetsJson}}`
  );
}

/** The generic form hashedContentFromParts must equal. */
export function hashedContentGeneric(e: HashedFields): string {
  return canonicalJson({
    id: e.id,
    orgId: e.orgId,
    seq: e.seq,
    occurredAt: e.occurredAt,
    actor: e.actor,
    action: e.action,
    targets: e.targets,
    outcome: e.outcome,
    metadata: e.metadata,
    requestId: e.requestId,
  });
}

export function chainHash(prevHash: string, content: string): string {
  // One pass over the joined string: the same bytes as prevHash, "\n", content. The one-shot
  // crypto.hash (Node 20.12+) skips the Hash object and halves the cost on the write path.
  const joined = `${prevHash}\n${content}`;
  return typeof oneShotHash === 'function'
    ? oneShotHash('sha256', joined, 'hex')
    : createHash('sha256').update(joined).digest('hex');
}

export function eventFromRow(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    orgId: row.org_id,
    seq: Number(row.seq),
    occurredAt: row.occurred_at,
    actor: {
      type: row.actor_type as ActorType,
      id: row.actor_id,
      email: row.actor_email,
      ip: row.actor_ip,
      userAgent: row.actor_user_agent,
    },
    action: row.action,
    targets: JSON.parse(row.targets) as AuditTarget[],
    outcome: row.outcome,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    requestId: row.request_id,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** The distinct target ids in stored targets JSON; malformed JSON names none (it is never fatal). */
export function targetIdsOf(json: string): string[] {
  try {
    const parsed: unknown = JSON.parse(json);
    if (!Array.isArray(parsed)) return [];
    const ids = parsed
      .map((t) => (t && typeof t === 'object' ? (t as { id?: unknown }).id : undefined))
      .filter((id): id is string => typeof id === 'string' && id.length > 0);
    return [...new Set(ids)];
  } catch {
    return [];
  }
}
