import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseCsv } from 'csv-parse/sync';
import { type AuditEvent, GENESIS_HASH, chainHash, hashedContent } from './event.js';
import { type PublishedKey, type SignedCheckpoint, checkpointSignatureProblem } from './checkpoints.js';
import { CSV_COLUMNS, CSV_PARSE_OPTIONS, eventFromCsvRecord } from './export.js';

export type FileProblemKind =
  | 'edited'
  | 'dropped'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'checkpoint_mismatch'
  | 'invalid_checkpoint'
  | 'unreadable';

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

const NullableString = Type.Union([Type.String(), Type.Null()]);
/** What a record must look like to be checked at all; anything else is reported as unreadable. */
const EventShape = Type.Object({
  id: Type.String(),
  orgId: Type.String(),
  seq: Type.Integer({ minimum: 1 }),
  occurredAt: Type.String(),
  actor: Type.Object({
    type: Type.String(),
    id: NullableString,
    email: NullableString,
    ip: NullableString,
    userAgent: NullableString,
  }),
  action: Type.String(),
  targets: Type.Array(Type.Object({ type: Type.String(), id: Type.String(), name: Type.Optional(Type.String()) })),
  outcome: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  requestId: NullableString,
  prevHash: Type.String(),
  hash: Type.String(),
});
const CheckpointShape = Type.Object({
  id: Type.String(),
  payload: Type.Object({
    orgId: Type.String(),
    seq: Type.Integer(),
    hash: Type.String(),
    firstSeq: Type.Integer(),
    anchorHash: Type.String(),
    at: Type.String(),
    kid: Type.String(),
  }),
  signature: Type.String(),
});
const KeyShape = Type.Object({ kid: Type.String(), x: Type.String() });

export interface ReadExport {
  events: AuditEvent[];
  /** 1-based line (NDJSON) or record (JSON, CSV) number of each event in the file. */
  positions: number[];
  /** Records that could not be read as events: each is named, and the chain check sees it as missing. */
  problems: FileProblem[];
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 200);

/** Reads an export in any of its formats (NDJSON, JSON array, CSV), record by record, never throwing. */
export function readExport(text: string): ReadExport {
  const out: ReadExport = { events: [], positions: [], problems: [] };
  const unreadable = (position: number | null, explanation: string) =>
    out.problems.push({ kind: 'unreadable', eventId: null, seq: null, position, explanation });
  const take = (value: unknown, position: number, what: string) => {
    if (Value.Check(EventShape, value)) {
      out.events.push(value as AuditEvent);
      out.positions.push(position);
      return;
    }
    const first = Value.Errors(EventShape, value).First();
    unreadable(
      position,
      `${what} is not an audit event (${first ? `${first.path || 'the record'}: ${first.message}` : 'wrong shape'}); it was edited or is not from a Palisade export.`,
    );
  };
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      unreadable(
        null,
        `The file starts as a JSON array but is not valid JSON (${messageOf(err)}): it was cut short or edited.`,
      );
      return out;
    }
    if (Array.isArray(parsed)) parsed.forEach((v, i) => take(v, i + 1, `Record ${i + 1}`));
    else unreadable(null, 'The file is JSON but not an array of events.');
    return out;
  }
  if (trimmed.startsWith('{')) {
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        unreadable(i + 1, `Line ${i + 1} is not valid JSON (${messageOf(err)}): it was cut short or edited.`);
        return;
      }
      take(value, i + 1, `Line ${i + 1}`);
    });
    return out;
  }
  let records: Record<string, string | null>[];
  try {
    records = parseCsv(text, CSV_PARSE_OPTIONS) as Record<string, string | null>[];
  } catch (err) {
    unreadable(null, `The file is not NDJSON, a JSON array or a readable CSV (${messageOf(err)}).`);
    return out;
  }
  const missing = records[0] ? CSV_COLUMNS.filter((c) => !(c in (records[0] as object))) : [];
  if (missing.length) {
    unreadable(null, `The CSV header lacks the column(s) ${missing.join(', ')} of a Palisade export.`);
    return out;
  }
  records.forEach((r, i) => {
    let value: unknown;
    try {
      value = eventFromCsvRecord(r);
    } catch (err) {
      unreadable(i + 1, `Record ${i + 1} cannot be read (${messageOf(err)}): a cell was edited.`);
      return;
    }
    take(value, i + 1, `Record ${i + 1}`);
  });
  return out;
}

/** Reads an export that must be whole (tests, tools): the first unreadable record throws, naming it. */
export function parseExport(text: string): AuditEvent[] {
  const read = readExport(text);
  if (read.problems.length) throw new Error((read.problems[0] as FileProblem).explanation);
  return read.events;
}

/** `palisade audit verify --file`: reads and verifies; unreadable records are problems like any other. */
export function verifyExportFile(text: string, checkpoints: unknown[] = [], keys: unknown[] = []): FileVerification {
  const read = readExport(text);
  const result = verifyExport(read.events, checkpoints, keys, read.positions);
  const problems = [...read.problems, ...result.problems].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
  return { ...result, ok: problems.length === 0, problems };
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
export function verifyExport(
  events: AuditEvent[],
  checkpoints: readonly unknown[] = [],
  keys: readonly unknown[] = [],
  positions?: number[],
): FileVerification {
  const problems: FileProblem[] = [];
  const pos = new Map<AuditEvent, number>();
  events.forEach((e, i) => pos.set(e, positions?.[i] ?? i + 1));
  const name = (kind: FileProblemKind, e: AuditEvent | null, explanation: string, seq?: number) =>
    problems.push({
      kind,
      eventId: e?.id ?? null,
      seq: e?.seq ?? seq ?? null,
      position: e ? (pos.get(e) ?? null) : null,
      explanation,
    });

  const orgId = events[0]?.orgId ?? null;
  const valid: SignedCheckpoint[] = [];
  const publishedKeys = keys.filter((k) => Value.Check(KeyShape, k)) as PublishedKey[];
  for (const [i, raw] of checkpoints.entries()) {
    if (!Value.Check(CheckpointShape, raw)) {
      name(
        'invalid_checkpoint',
        null,
        `Checkpoint ${i + 1} of the checkpoints file is not a signed Palisade checkpoint (it lacks an id, a payload with seq, hash and kid, or a signature).`,
      );
      continue;
    }
    const cp = raw as SignedCheckpoint;
    if (orgId && cp.payload.orgId !== orgId) continue;
    let why: string | undefined;
    try {
      why = checkpointSignatureProblem(cp, publishedKeys);
    } catch {
      why = `checkpoint ${cp.id} could not be checked: its signing key (${cp.payload.kid}) or its signature is malformed`;
    }
    if (why) name('invalid_checkpoint', null, why, cp.payload.seq);
    else valid.push(cp);
  }
  if (events.length === 0)
    return {
      ok: problems.length === 0,
      orgId,
      events: 0,
      coveredBySignedCheckpoint: 0,
      checkpointsUsed: valid.length,
      problems,
    };

  for (const e of events) {
    if (e.orgId !== orgId)
      name('inserted', e, `Event ${e.id} belongs to organization ${e.orgId}, not ${orgId}: it was added to this file.`);
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
    if (
      anchors.get(cur.seq) === cur.prevHash &&
      !events.some((e) => e.seq < (cur as AuditEvent).seq && e.orgId === orgId)
    )
      break;
    const below: AuditEvent | undefined = sorted.find(
      (e) => e.seq < (cur as AuditEvent).seq && !onPath.has(e) && byHash.get(e.hash) === e,
    );
    const c: AuditEvent = cur;
    if (below && below.seq === c.seq - 1) {
      name(
        'edited',
        below,
        `Event ${below.id} (seq ${below.seq}, ${below.action}) was changed and its hash recomputed: event ${c.id} (seq ${c.seq}) no longer links to it.`,
      );
    } else {
      const from = below ? below.seq + 1 : 1;
      if (from <= c.seq - 1 || !below) {
        name(
          'dropped',
          c,
          from <= c.seq - 1
            ? `Event(s) with seq ${from}${from < c.seq - 1 ? `–${c.seq - 1}` : ''} are missing before ${c.id} (seq ${c.seq}): they were removed from the file.`
            : `Event ${c.id} (seq ${c.seq}) links to an event that is not in the file and not a signed anchor.`,
        );
      }
    }
    cur = below;
  }

  for (const e of events) {
    if (!onPath.has(e) && e.orgId === orgId)
      name(
        'inserted',
        e,
        `Event ${e.id} (seq ${e.seq}, ${e.action}) is not part of the hash chain: no event links to it. It was added to the file.`,
      );
  }
  const chain = path.reverse();
  for (const e of chain) {
    let hash: string | undefined;
    try {
      hash = chainHash(e.prevHash, hashedContent(e));
    } catch {
      // A value canonical JSON cannot represent (a number out of range, say) was not written by Palisade.
    }
    if (hash !== e.hash)
      name('edited', e, `Event ${e.id} (seq ${e.seq}, ${e.action}) was modified: its fields no longer match its hash.`);
  }
  for (let i = 1; i < chain.length; i++) {
    const a = chain[i - 1] as AuditEvent;
    const b = chain[i] as AuditEvent;
    if ((pos.get(b) ?? 0) < (pos.get(a) ?? 0))
      name(
        'reordered',
        b,
        `Event ${b.id} (seq ${b.seq}) appears in the file before event ${a.id} (seq ${a.seq}): the order was changed.`,
      );
  }

  // Signed checkpoints: every one the file reaches must match; one beyond its end means a cut tail.
  const bySeq = new Map(chain.map((e) => [e.seq, e]));
  const last = chain[chain.length - 1] as AuditEvent;
  let covered = 0;
  for (const cp of valid) {
    const e = bySeq.get(cp.payload.seq);
    if (cp.payload.seq > last.seq) {
      name(
        'truncated',
        null,
        `A checkpoint signed at ${cp.payload.at} covers ${cp.payload.seq} events but the file ends at seq ${last.seq}: events ${last.seq + 1}–${cp.payload.seq} were removed (or the file was exported before that checkpoint).`,
        cp.payload.seq,
      );
    } else if (e && e.hash !== cp.payload.hash) {
      name(
        'checkpoint_mismatch',
        e,
        `Event ${e.id} (seq ${e.seq}) does not match the checkpoint signed at ${cp.payload.at}: the history up to it was rewritten.`,
      );
    } else if (e) covered = Math.max(covered, chain.filter((x) => x.seq <= cp.payload.seq).length);
  }
  problems.sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
  return {
    ok: problems.length === 0,
    orgId,
    events: events.length,
    coveredBySignedCheckpoint: covered,
    checkpointsUsed: valid.length,
    problems,
  };
}
