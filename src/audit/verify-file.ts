import { parse as parseCsv } from 'csv-parse/sync';
import { type AuditEvent, GENESIS_HASH, chainHash, hashedContent } from './event.js';
import { type PublishedKey, type SignedCheckpoint, checkpointSignatureProblem } from './checkpoints.js';
import { CSV_PARSE_OPTIONS, eventFromCsvRecord } from './export.js';

export type FileProblemKind = 'edited' | 'dropped' | 'inserted' | 'reordered' | 'truncated' | 'checkpoint_mismatch' | 'invalid_checkpoint' | 'unreadable';

export interface FileProblem {
  kind: FileProblemKind;
  /** The event named, when there is one. */
  eventId: string | null;
  seq: number | null;
  /** 1-based position of the event in the file (line or record number). */
  position: number | null;
  explanation: string;
}

export interface FileVerification {
  ok: boolean;
  orgId: string | null;
  events: number;
  /** Events proven by a checkpoint (at or before the newest checkpoint the file reaches). */
  coveredBySignedCheckpoint: number;
  checkpointsUsed: number;
  problems: FileProblem[];
}

/** Reads an export in any of its formats (NDJSON, JSON array, CSV). */
export function parseExport(text: string): AuditEvent[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as AuditEvent[];
  if (trimmed.startsWith('{')) return trimmed.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as AuditEvent);
  const records = parseCsv(text, CSV_PARSE_OPTIONS) as Record<string, string | null>[];
  return records.map((r) => eventFromCsvRecord(r));
}

/**
 * Verifies an export offline. The chain is walked backwards from the newest event by stored hashes,
 * so each kind of tampering is told apart and named:
 * - edited: an event's fields no longer hash to its stored hash, or its hash was recomputed so the next event no longer links to it;
 * - dropped: an event the next one links to is missing (seq range named);
 * - inserted: an event nothing links to;
 * - reordered: chain events out of seq order in the file;
 * - truncated / checkpoint_mismatch: the file disagrees with a signed checkpoint (tail removed or history rewritten).
 */
export function verifyExport(events: AuditEvent[], checkpoints: SignedCheckpoint[] = [], keys: PublishedKey[] = []): FileVerification {
  const problems: FileProblem[] = [];
  const pos = new Map<AuditEvent, number>();
  events.forEach((e, i) => pos.set(e, i + 1));
  const name = (kind: FileProblemKind, e: AuditEvent | null, explanation: string, seq?: number) =>
    problems.push({ kind, eventId: e?.id ?? null, seq: e?.seq ?? seq ?? null, position: e ? (pos.get(e) ?? null) : null, explanation });

  const orgId = events[0]?.orgId ?? null;
  const valid: SignedCheckpoint[] = [];
  for (const cp of checkpoints) {
    if (orgId && cp.payload.orgId !== orgId) continue;
    const why = checkpointSignatureProblem(cp, keys);
    if (why) name('invalid_checkpoint', null, why, cp.payload.seq);
    else valid.push(cp);
  }
  if (events.length === 0) return { ok: problems.length === 0, orgId, events: 0, coveredBySignedCheckpoint: 0, checkpointsUsed: valid.length, problems };

  for (const e of events) {
    if (e.orgId !== orgId) name('inserted', e, `Event ${e.id} belongs to organization ${e.orgId}, not ${orgId}: it was added to this file.`);
  }
  const byHash = new Map<string, AuditEvent>();
  for (const e of events) if (!byHash.has(e.hash)) byHash.set(e.hash, e);
  const anchors = new Map<number, string>([[1, GENESIS_HASH]]);
  // Where a kept chain may legitimately start: genesis, a purge anchor, or right after any signed
  // position (a purge signs the last deleted event, which the first kept event links to).
  for (const cp of valid) {
    anchors.set(cp.payload.firstSeq, cp.payload.anchorHash);
    anchors.set(cp.payload.seq + 1, cp.payload.hash);
  }

  // Walk back from the newest event along stored hashes.
  const sorted = [...events].sort((a, b) => b.seq - a.seq);
  const onPath = new Set<AuditEvent>();
  let cur: AuditEvent | undefined = sorted[0];
  const path: AuditEvent[] = [];
  while (cur) {
    onPath.add(cur);
    path.push(cur);
    const prev = byHash.get(cur.prevHash);
    if (prev && prev.seq === cur.seq - 1 && !onPath.has(prev)) {
      cur = prev;
      continue;
    }
    // No predecessor in the file: fine only where the chain may start.
    if (anchors.get(cur.seq) === cur.prevHash && !events.some((e) => e.seq < (cur as AuditEvent).seq && e.orgId === orgId)) break;
    const below: AuditEvent | undefined = sorted.find((e) => e.seq < (cur as AuditEvent).seq && !onPath.has(e) && byHash.get(e.hash) === e);
    const c: AuditEvent = cur;
    if (below && below.seq === c.seq - 1) {
      name('edited', below, `Event ${below.id} (seq ${below.seq}, ${below.action}) was changed and its hash recomputed: event ${c.id} (seq ${c.seq}) no longer links to it.`);
    } else {
      const from = below ? below.seq + 1 : 1;
      if (from <= c.seq - 1 || !below) {
        name('dropped', c, from <= c.seq - 1 ? `Event(s) with seq ${from}${from < c.seq - 1 ? `–${c.seq - 1}` : ''} are missing before ${c.id} (seq ${c.seq}): they were removed from the file.` : `Event ${c.id} (seq ${c.seq}) links to an event that is not in the file and not a signed anchor.`);
      }
    }
    cur = below;
  }

  for (const e of events) {
    if (!onPath.has(e) && e.orgId === orgId) name('inserted', e, `Event ${e.id} (seq ${e.seq}, ${e.action}) is not part of the hash chain: no event links to it. It was added to the file.`);
  }
  const chain = path.reverse();
  for (const e of chain) {
    if (chainHash(e.prevHash, hashedContent(e)) !== e.hash) name('edited', e, `Event ${e.id} (seq ${e.seq}, ${e.action}) was modified: its fields no longer match its hash.`);
  }
  for (let i = 1; i < chain.length; i++) {
    const a = chain[i - 1] as AuditEvent;
    const b = chain[i] as AuditEvent;
    if ((pos.get(b) ?? 0) < (pos.get(a) ?? 0)) name('reordered', b, `Event ${b.id} (seq ${b.seq}) appears in the file before event ${a.id} (seq ${a.seq}): the order was changed.`);
  }

  // Signed checkpoints: every one the file reaches must match; one beyond its end means a cut tail.
  const bySeq = new Map(chain.map((e) => [e.seq, e]));
  const last = chain[chain.length - 1] as AuditEvent;
  let covered = 0;
  for (const cp of valid) {
    const e = bySeq.get(cp.payload.seq);
    if (cp.payload.seq > last.seq) {
      name('truncated', null, `A checkpoint signed at ${cp.payload.at} covers ${cp.payload.seq} events but the file ends at seq ${last.seq}: events ${last.seq + 1}–${cp.payload.seq} were removed (or the file was exported before that checkpoint).`, cp.payload.seq);
    } else if (e && e.hash !== cp.payload.hash) {
      name('checkpoint_mismatch', e, `Event ${e.id} (seq ${e.seq}) does not match the checkpoint signed at ${cp.payload.at}: the history up to it was rewritten.`);
    } else if (e) covered = Math.max(covered, chain.filter((x) => x.seq <= cp.payload.seq).length);
  }
  problems.sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
  return { ok: problems.length === 0, orgId, events: events.length, coveredBySignedCheckpoint: covered, checkpointsUsed: valid.length, problems };
}
