import { randomBytes } from 'node:crypto';
import type { PalisadeConfig } from '../config.js';
import type { Insertable } from 'kysely';
import type { Queryable } from '../db/schema.js';
import type { ContentKeysTable } from '../workspace/tables.js';
import { newId } from '../ids.js';
import { open, seal } from './aead.js';
import { type Opened, type RecordRef, currentDataKey, dataKeyOf, integrityFailed, openFor } from './data-keys.js';

/**
 * Content keys: the unit of erasure. Each conversation (its title and every message) and each file
 * gets a random AES-256 key of its own, wrapped by the organization's current data key and stored
 * in `content_keys`. Deleting the conversation or file — by its owner or by the retention purge —
 * deletes that row in the same transaction, so every copy of the content left behind (a freed
 * database page, an old WAL frame, a dump taken afterwards) is ciphertext under a key that exists
 * nowhere any more. The organization's data key stays long-lived; it only wraps.
 *
 * Associated data binds a record to its organization, table, record id and content key id; the
 * wrap binds the content key to its organization, id and the data key version that wrapped it.
 */
export interface ContentKey {
  id: string;
  orgId: string;
  /** Version of the organization data key that wraps it (recorded on each record as key_version). */
  dkVersion: number;
  key: Buffer;
}

const wrapAad = (orgId: string, id: string, dkVersion: number) =>
  Buffer.from(`palisade-ck|v1|${orgId}|${id}|${dkVersion}`);
const contentAad = (ref: RecordRef, contentKeyId: string) =>
  Buffer.from(`palisade|ck1|${ref.orgId}|${ref.table}|${ref.recordId}|${contentKeyId}`);

/** A new content key, wrapped and stored; call inside the transaction that writes its first record. */
export async function createContentKey(
  db: Queryable,
  config: PalisadeConfig,
  now: Date,
  orgId: string,
): Promise<ContentKey> {
  const { key, row } = newContentKey(await currentDataKey(db, config, orgId, now), orgId, now);
  await db.insertInto('content_keys').values(row).execute();
  return key;
}

/**
 * A new content key wrapped by `dataKey` (the organization's current one), and the row that stores
 * it, for a caller that inserts the row in the statement that writes its first record
 * (src/audit/insert-with-audit.ts).
 */
export function newContentKey(
  dataKey: { version: number; key: Buffer },
  orgId: string,
  now: Date,
): { key: ContentKey; row: Insertable<ContentKeysTable> } {
  const id = newId('cky', now);
  const key = randomBytes(32);
  const wrapped = seal(dataKey.key, key, wrapAad(orgId, id, dataKey.version));
  return {
    key: { id, orgId, dkVersion: dataKey.version, key },
    row: {
      id,
      org_id: orgId,
      dk_version: dataKey.version,
      wrapped_key: wrapped.toString('base64'),
      created_at: now.toISOString(),
    },
  };
}

export type LoadedContentKey = { ok: true; key: ContentKey } | { ok: false; reason: 'shredded' | 'erased' };

/**
 * The content key, unwrapped. `erased`: its row is gone (the content was deleted and only a
 * leftover reference remains); `shredded`: the organization's data keys were destroyed.
 */
export async function loadContentKey(
  db: Queryable,
  config: PalisadeConfig,
  orgId: string,
  id: string,
): Promise<LoadedContentKey> {
  const row = await db
    .selectFrom('content_keys')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) return { ok: false, reason: 'erased' };
  const version = Number(row.dk_version);
  const dk = await dataKeyOf(db, config, orgId, version);
  if (!dk) throw integrityFailed({ orgId, table: 'content_keys', recordId: id });
  if (!dk.ok) return { ok: false, reason: 'shredded' };
  try {
    return {
      ok: true,
      key: {
        id,
        orgId,
        dkVersion: version,
        key: open(dk.key, Buffer.from(row.wrapped_key, 'base64'), wrapAad(orgId, id, version)),
      },
    };
  } catch {
    throw integrityFailed({ orgId, table: 'content_keys', recordId: id });
  }
}

export function sealWithContentKey(ck: ContentKey, ref: RecordRef, plaintext: Buffer | string): string {
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  return seal(ck.key, data, contentAad(ref, ck.id)).toString('base64');
}

export function openWithContentKey(ck: ContentKey, ref: RecordRef, ct: string): Buffer {
  try {
    return open(ck.key, Buffer.from(ct, 'base64'), contentAad(ref, ck.id));
  } catch {
    throw integrityFailed(ref);
  }
}

/** How a stored record was sealed: under a content key (current), or directly under a data key version (before migration 0017, or kept for shredded organizations). */
export interface SealedRecord {
  ct: string;
  keyVersion: number;
  contentKeyId: string | null;
}

/**
 * Opens either kind of record. Content keys already loaded for this read are reused through
 * `keys`, so a conversation of 200 messages unwraps its key once.
 */
export async function openRecord(
  db: Queryable,
  config: PalisadeConfig,
  ref: RecordRef,
  rec: SealedRecord,
  keys: Map<string, LoadedContentKey> = new Map(),
): Promise<Opened> {
  if (rec.contentKeyId === null) return openFor(db, config, ref, rec.ct, rec.keyVersion);
  let loaded = keys.get(rec.contentKeyId);
  if (!loaded) {
    loaded = await loadContentKey(db, config, ref.orgId, rec.contentKeyId);
    keys.set(rec.contentKeyId, loaded);
  }
  if (!loaded.ok) return { ok: false, reason: 'shredded' };
  return { ok: true, data: openWithContentKey(loaded.key, ref, rec.ct) };
}

export async function openRecordText(
  db: Queryable,
  config: PalisadeConfig,
  ref: RecordRef,
  rec: SealedRecord,
  keys?: Map<string, LoadedContentKey>,
): Promise<string | null> {
  const r = await openRecord(db, config, ref, rec, keys);
  return r.ok ? r.data.toString('utf8') : null;
}

/** Destroys content keys (crypto-erasure of everything sealed under them). Same transaction as the records' deletion. */
export async function destroyContentKeys(
  db: Queryable,
  orgId: string,
  ids: readonly (string | null)[],
): Promise<number> {
  const live = ids.filter((i): i is string => i !== null);
  let n = 0;
  for (let i = 0; i < live.length; i += 500) {
    const r = await db
      .deleteFrom('content_keys')
      .where('org_id', '=', orgId)
      .where('id', 'in', live.slice(i, i + 500))
      .executeTakeFirst();
    n += Number(r.numDeletedRows);
  }
  return n;
}
