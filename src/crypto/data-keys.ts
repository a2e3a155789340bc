import { randomBytes } from 'node:crypto';
import type { PalisadeConfig } from '../config.js';
import { cachedLookup } from '../cache/hot-cache.js';
import type { Db, Queryable } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { newId } from '../ids.js';
import { open, seal } from './aead.js';
import { keyProviderFor } from './provider.js';

/**
 * Per-organization data keys (envelope encryption): a random AES-256 key per organization and
 * version, stored only wrapped by the KEK. Records are sealed with AES-256-GCM; the associated
 * data binds each ciphertext to its organization, table, record id and key version, so a
 * ciphertext copied to another row, another organization or relabelled with another version
 * fails to decrypt.
 */
export interface RecordRef {
  orgId: string;
  table: string;
  recordId: string;
}

export type Opened = { ok: true; data: Buffer } | { ok: false; reason: 'shredded' };

const wrapAad = (orgId: string, version: number) => Buffer.from(`palisade-dk|v1|${orgId}|${version}`);
export const recordAad = (ref: RecordRef, version: number) =>
  Buffer.from(`palisade|v1|${ref.orgId}|${ref.table}|${ref.recordId}|${version}`);

/** Unwrapped keys, keyed by org, version and the exact wrapped bytes (a re-wrap or shred changes the key). */
const cache = new Map<string, Buffer>();
const CACHE_MAX = 1000;

export const contentShredded = () =>
  new PalisadeError(
    410,
    'content_shredded',
    "This organization's encryption keys were destroyed (crypto-shredded); this content can no longer be read by anyone.",
  );

export const integrityFailed = (ref: RecordRef) =>
  new PalisadeError(
    500,
    'content_integrity_failed',
    'Stored content failed its integrity check (it was modified, moved or relabelled) and was not returned. Report this requestId to your administrator.',
    {
      details: { table: ref.table, recordId: ref.recordId },
    },
  );

async function unwrapRow(
  config: PalisadeConfig,
  row: { org_id: string; version: number; kek_id: string; wrapped_key: string },
): Promise<Buffer> {
  const ck = `${row.org_id}:${row.version}:${row.kek_id}:${row.wrapped_key}`;
  const hit = cache.get(ck);
  if (hit) return hit;
  const key = await keyProviderFor(config).unwrap(
    row.kek_id,
    Buffer.from(row.wrapped_key, 'base64'),
    wrapAad(row.org_id, Number(row.version)),
  );
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(ck, key);
  return key;
}

/** Whether a stored data key opens with the configured key-encryption key (no cache: a real unwrap). */
export async function dataKeyOpens(
  config: PalisadeConfig,
  row: { org_id: string; version: number; kek_id: string; wrapped_key: string },
): Promise<boolean> {
  try {
    await keyProviderFor(config).unwrap(
      row.kek_id,
      Buffer.from(row.wrapped_key, 'base64'),
      wrapAad(row.org_id, Number(row.version)),
    );
    return true;
  } catch {
    return false;
  }
}

/** Creates version `version` of an organization's data key; a concurrent creator wins harmlessly. */
async function createDataKey(
  db: Queryable,
  config: PalisadeConfig,
  orgId: string,
  version: number,
  now: Date,
): Promise<void> {
  const key = randomBytes(32);
  const { kekId, wrapped } = await keyProviderFor(config).wrap(key, wrapAad(orgId, version));
  await db
    .insertInto('org_data_keys')
    .values({
      id: newId('dky', now),
      org_id: orgId,
      version,
      kek_id: kekId,
      wrapped_key: wrapped.toString('base64'),
      status: 'active',
      created_at: now.toISOString(),
      rewrapped_at: null,
    })
    .onConflict((oc) => oc.columns(['org_id', 'version']).doNothing())
    .execute();
}

/** The data key new writes use: the highest version, created on first use. */
export async function currentDataKey(
  db: Queryable,
  config: PalisadeConfig,
  orgId: string,
  now: Date,
): Promise<{ version: number; key: Buffer }> {
  const latest = () =>
    db
      .selectFrom('org_data_keys')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
  let row = await latest();
  if (!row || row.status === 'destroyed') {
    await createDataKey(db, config, orgId, row ? Number(row.version) + 1 : 1, now);
    row = await latest();
  }
  if (!row || row.status === 'destroyed') throw new Error(`no data key for ${orgId}`);
  return { version: Number(row.version), key: await unwrapRow(config, row) };
}

/**
 * currentDataKey through the per-process cache (src/cache/hot-cache.ts), for hot write paths that
 * wrap a new content key per record: read once, kept until org_data_keys changes (a rotation, a
 * shred) or HOT_CACHE_TTL_MS. A write that overlaps a rotation by the notification's delay uses
 * the previous version, which stays readable.
 */
export function currentDataKeyCached(
  db: Db,
  config: PalisadeConfig,
  orgId: string,
  now: Date,
  scope?: object,
): Promise<{ version: number; key: Buffer }> {
  return cachedLookup(db, `data-key\n${orgId}`, () => currentDataKey(db, config, orgId, now), scope);
}

export async function sealFor(
  db: Queryable,
  config: PalisadeConfig,
  now: Date,
  ref: RecordRef,
  plaintext: Buffer | string,
): Promise<{ ct: string; keyVersion: number }> {
  const { version, key } = await currentDataKey(db, config, ref.orgId, now);
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  return { ct: seal(key, data, recordAad(ref, version)).toString('base64'), keyVersion: version };
}

/** An organization's data key of one version, unwrapped; `ok: false` when it was crypto-shredded. */
export async function dataKeyOf(
  db: Queryable,
  config: PalisadeConfig,
  orgId: string,
  keyVersion: number,
): Promise<{ ok: true; key: Buffer } | { ok: false } | undefined> {
  const row = await db
    .selectFrom('org_data_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('version', '=', keyVersion)
    .executeTakeFirst();
  if (row?.status === 'destroyed') return { ok: false };
  if (!row) {
    const shred = await db.selectFrom('org_key_shreds').select('org_id').where('org_id', '=', orgId).executeTakeFirst();
    return shred ? { ok: false } : undefined;
  }
  return { ok: true, key: await unwrapRow(config, row) };
}

/** Opens a record; a destroyed key says "shredded" instead of failing; any tampering fails closed. */
export async function openFor(
  db: Queryable,
  config: PalisadeConfig,
  ref: RecordRef,
  ct: string,
  keyVersion: number,
): Promise<Opened> {
  const dk = await dataKeyOf(db, config, ref.orgId, keyVersion);
  if (!dk) throw integrityFailed(ref);
  if (!dk.ok) return { ok: false, reason: 'shredded' };
  try {
    return { ok: true, data: open(dk.key, Buffer.from(ct, 'base64'), recordAad(ref, keyVersion)) };
  } catch {
    throw integrityFailed(ref);
  }
}

export async function openText(
  db: Queryable,
  config: PalisadeConfig,
  ref: RecordRef,
  ct: string,
  keyVersion: number,
): Promise<string | null> {
  const r = await openFor(db, config, ref, ct, keyVersion);
  return r.ok ? r.data.toString('utf8') : null;
}

/** New version of an organization's data key: new writes use it, older versions stay readable. */
export async function rotateDataKey(
  db: Queryable,
  config: PalisadeConfig,
  orgId: string,
  now: Date,
): Promise<{ version: number }> {
  const row = await db
    .selectFrom('org_data_keys')
    .select(['version'])
    .where('org_id', '=', orgId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  const version = row ? Number(row.version) + 1 : 1;
  await db
    .updateTable('org_data_keys')
    .set({ status: 'retired' })
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .execute();
  await createDataKey(db, config, orgId, version, now);
  return { version };
}

/** Crypto-shredding: empties every wrapped data key of the organization. Irreversible by design. */
export async function destroyOrgKeys(
  db: Queryable,
  orgId: string,
  now: Date,
  by: string | null,
): Promise<{ destroyed: number }> {
  const r = await db
    .updateTable('org_data_keys')
    .set({ status: 'destroyed', wrapped_key: '' })
    .where('org_id', '=', orgId)
    .where('status', '!=', 'destroyed')
    .executeTakeFirst();
  await db
    .insertInto('org_key_shreds')
    .values({ org_id: orgId, shredded_at: now.toISOString(), shredded_by: by })
    .onConflict((oc) => oc.column('org_id').doUpdateSet({ shredded_at: now.toISOString(), shredded_by: by }))
    .execute();
  for (const k of [...cache.keys()]) if (k.startsWith(`${orgId}:`)) cache.delete(k);
  return { destroyed: Number(r.numUpdatedRows) };
}

/**
 * Re-wraps data keys wrapped by an older KEK with the current one, in batches; idempotent. A key
 * that cannot be unwrapped (tampered, or its KEK missing) is counted and skipped, not fatal.
 */
export async function rewrapDataKeys(
  db: Queryable,
  config: PalisadeConfig,
  now: Date,
  batch = 200,
): Promise<{ rewrapped: number; failed: number; remaining: number }> {
  const provider = keyProviderFor(config);
  const current = provider.currentKekId();
  let rewrapped = 0;
  let failed = 0;
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('org_data_keys')
      .selectAll()
      .where('kek_id', '!=', current)
      .where('status', '!=', 'destroyed')
      .where('id', '>', after)
      .orderBy('id')
      .limit(batch)
      .execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      after = row.id;
      let wrappedNew: { kekId: string; wrapped: Buffer };
      try {
        const key = await unwrapRow(config, row);
        wrappedNew = await provider.wrap(key, wrapAad(row.org_id, Number(row.version)));
      } catch {
        failed += 1;
        continue;
      }
      // Compare-and-set on the old wrap: a concurrent re-wrap or shred wins and this one is a no-op.
      const r = await db
        .updateTable('org_data_keys')
        .set({
          kek_id: wrappedNew.kekId,
          wrapped_key: wrappedNew.wrapped.toString('base64'),
          rewrapped_at: now.toISOString(),
        })
        .where('id', '=', row.id)
        .where('wrapped_key', '=', row.wrapped_key)
        .executeTakeFirst();
      rewrapped += Number(r.numUpdatedRows);
    }
  }
  const left = await db
    .selectFrom('org_data_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('kek_id', '!=', current)
    .where('status', '!=', 'destroyed')
    .executeTakeFirstOrThrow();
  return { rewrapped, failed, remaining: Number(left.n) };
}
