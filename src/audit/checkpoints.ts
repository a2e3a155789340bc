import { readFileSync } from 'node:fs';
import {
  type KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import type { PalisadeConfig } from '../config.js';
import type { Ctx } from '../context.js';
import { keyProviderFor } from '../crypto/provider.js';
import { PalisadeError } from '../errors.js';
import type { Queryable } from '../db/schema.js';
import { newId } from '../ids.js';
import { canonicalJson } from './event.js';
import type { AuditCheckpointsTable, AuditSigningKeysTable } from './tables.js';
import { sealAllPendingAudit } from './seal.js';

/**
 * Signed checkpoints: an Ed25519 signature over an organization's chain position (latest seq, its
 * hash, how many events the table keeps and from which seq). Anyone holding the published public
 * keys can prove an export was not edited, truncated or rewritten after the checkpoint was made.
 */
export interface CheckpointPayload {
  v: 1;
  type: 'palisade.audit.checkpoint';
  orgId: string;
  /** Seq of the newest event covered, and its hash. */
  seq: number;
  hash: string;
  /** First seq the table still keeps (1 unless purged) and how many events that makes. */
  firstSeq: number;
  count: number;
  /** Hash the event firstSeq links to: the genesis hash, or the anchor left by a purge. */
  anchorHash: string;
  kind: AuditCheckpointsTable['kind'];
  at: string;
  kid: string;
}

export interface SignedCheckpoint {
  id: string;
  payload: CheckpointPayload;
  /** Base64url Ed25519 signature over the RFC 8785 canonical JSON of payload. */
  signature: string;
}

export interface PublishedKey {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
  status: 'active' | 'retired';
  createdAt: string;
  retiredAt: string | null;
}

export const WELL_KNOWN_KEYS_PATH = '/.well-known/palisade-audit-keys.json';

/**
 * A signing key kept in the database is sealed with the installation's key-encryption key (master
 * key or HSM), never stored in clear: someone who can write the database could otherwise re-sign a
 * rewritten chain. Stored as `kek:v1:<kek id>:<base64>`; the associated data binds the key id.
 */
const SEALED_PREFIX = 'kek:v1:';
const signingAad = (kid: string) => Buffer.from(`palisade-audit-signing-key|v1|${kid}`);

async function sealSigningKey(config: PalisadeConfig, kid: string, key: KeyObject): Promise<string> {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const { kekId, wrapped } = await keyProviderFor(config).wrap(der, signingAad(kid));
  return `kek:v1:${kekId}:${wrapped.toString('base64')}`;
}

const signingKeyUnreadable = (kid: string) =>
  new PalisadeError(
    500,
    'audit_signing_key_unreadable',
    `The audit checkpoint signing key ${kid} cannot be opened with the configured master key (it was modified, or its key-encryption key is gone). Run \`palisade audit rotate-key\` to retire it and sign with a new key; old checkpoints stay verifiable with the published public key.`,
  );

async function openSigningKey(
  db: Queryable,
  config: PalisadeConfig,
  row: { kid: string; private_pkcs8: string },
): Promise<KeyObject> {
  if (!row.private_pkcs8.startsWith(SEALED_PREFIX)) {
    // A key from before keys were sealed: use it, and seal it in place.
    const key = createPrivateKey(row.private_pkcs8);
    await db
      .updateTable('audit_signing_keys')
      .set({ private_pkcs8: await sealSigningKey(config, row.kid, key) })
      .where('kid', '=', row.kid)
      .where('private_pkcs8', '=', row.private_pkcs8)
      .execute();
    return key;
  }
  // The KEK id may itself hold colons (`local:…`): the base64 ciphertext is after the last one.
  const rest = row.private_pkcs8.slice(SEALED_PREFIX.length);
  const cut = rest.lastIndexOf(':');
  try {
    const der = await keyProviderFor(config).unwrap(
      rest.slice(0, cut),
      Buffer.from(rest.slice(cut + 1), 'base64'),
      signingAad(row.kid),
    );
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    throw signingKeyUnreadable(row.kid);
  }
}

async function newKeyRow(
  config: PalisadeConfig,
  at: string,
): Promise<{ kid: string; key: KeyObject; row: AuditSigningKeysTable }> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const kid = newId('ack', new Date(at));
  const row: AuditSigningKeysTable = {
    kid,
    public_jwk: JSON.stringify(publicKey.export({ format: 'jwk' })),
    private_pkcs8: await sealSigningKey(config, kid, privateKey),
    status: 'active',
    created_at: at,
    retired_at: null,
  };
  return { kid, key: privateKey, row };
}

async function insertKey(db: Queryable, config: PalisadeConfig, at: string): Promise<{ kid: string; key: KeyObject }> {
  const { kid, key, row } = await newKeyRow(config, at);
  await db.insertInto('audit_signing_keys').values(row).execute();
  return { kid, key };
}

const activeKeyRow = (db: Queryable) =>
  db.selectFrom('audit_signing_keys').selectAll().where('status', '=', 'active').executeTakeFirst();

/**
 * Creates the first active key, or uses the one a concurrent caller created first. The unique partial
 * index `audit_signing_keys_one_active` (migration 0021) admits one active key; the loser's insert is
 * a no-op (on PostgreSQL it waits for the winner's transaction, then sees its row), and it re-reads.
 */
async function createActiveKey(
  db: Queryable,
  config: PalisadeConfig,
  at: string,
): Promise<{ kid: string; key: KeyObject }> {
  const fresh = await newKeyRow(config, at);
  const inserted = await db
    .insertInto('audit_signing_keys')
    .values(fresh.row)
    .onConflict((oc) => oc.doNothing())
    .returning('kid')
    .executeTakeFirst();
  if (inserted) return { kid: fresh.kid, key: fresh.key };
  const winner = await activeKeyRow(db);
  if (!winner?.private_pkcs8)
    throw new Error('audit signing key: another process holds the active key slot but no usable key was found');
  return { kid: winner.kid, key: await openSigningKey(db, config, winner) };
}
const fileKeys = new Map<string, { kid: string; key: KeyObject; publicJwk: string }>();

/** An Ed25519 private key (PKCS#8 PEM) kept outside the database, so a database writer cannot sign. */
function loadKeyFile(path: string): { kid: string; key: KeyObject; publicJwk: string } {
  const cached = fileKeys.get(path);
  if (cached) return cached;
  const key = createPrivateKey(readFileSync(path, 'utf8'));
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`${path} must hold an Ed25519 private key (openssl genpkey -algorithm ed25519)`);
  const publicJwk = JSON.stringify(createPublicKey(key).export({ format: 'jwk' }));
  const loaded = {
    kid: `ack_file_${createHash('sha256').update(publicJwk).digest('hex').slice(0, 16)}`,
    key,
    publicJwk,
  };
  fileKeys.set(path, loaded);
  return loaded;
}

/**
 * The active signing key. With PALISADE_AUDIT_SIGNING_KEY_FILE the key lives in that file and only
 * its public half is stored (and published); rotating means pointing the variable at a new file.
 * Otherwise a key is generated on first use and kept in the database, sealed with the master key.
 */
export async function activeSigningKey(
  db: Queryable,
  now: Date,
  config: PalisadeConfig,
): Promise<{ kid: string; key: KeyObject }> {
  const keyFile = config.auditSigningKeyFile;
  if (keyFile) {
    const { kid, key, publicJwk } = loadKeyFile(keyFile);
    const at = now.toISOString();
    const known = await db.selectFrom('audit_signing_keys').select('status').where('kid', '=', kid).executeTakeFirst();
    if (known?.status !== 'active') {
      // Retire whatever else is active first: the unique index admits one active key.
      await db
        .updateTable('audit_signing_keys')
        .set({ status: 'retired', retired_at: at })
        .where('status', '=', 'active')
        .where('kid', '<>', kid)
        .execute();
      if (known)
        await db
          .updateTable('audit_signing_keys')
          .set({ status: 'active', retired_at: null })
          .where('kid', '=', kid)
          .execute();
      // A concurrent first use of the same file inserts the same row: a no-op for the loser.
      else
        await db
          .insertInto('audit_signing_keys')
          .values({ kid, public_jwk: publicJwk, private_pkcs8: '', status: 'active', created_at: at, retired_at: null })
          .onConflict((oc) => oc.doNothing())
          .execute();
    }
    return { kid, key };
  }
  const row = await activeKeyRow(db);
  if (row?.private_pkcs8) return { kid: row.kid, key: await openSigningKey(db, config, row) };
  // The active key was a file's (its private half is not here) and the file is no longer configured.
  if (row)
    await db
      .updateTable('audit_signing_keys')
      .set({ status: 'retired', retired_at: now.toISOString() })
      .where('kid', '=', row.kid)
      .execute();
  return createActiveKey(db, config, now.toISOString());
}

/** Retires the active key (it stays published so old checkpoints still verify) and makes a new one. */
export async function rotateSigningKey(
  ctx: Pick<Ctx, 'db' | 'clock' | 'config'>,
): Promise<{ kid: string; retired: string[] }> {
  const at = ctx.clock.now().toISOString();
  return ctx.db.transaction().execute(async (tx) => {
    const active = await tx.selectFrom('audit_signing_keys').select('kid').where('status', '=', 'active').execute();
    await tx
      .updateTable('audit_signing_keys')
      .set({ status: 'retired', retired_at: at })
      .where('status', '=', 'active')
      .execute();
    const { kid } = await insertKey(tx, ctx.config, at);
    return { kid, retired: active.map((k) => k.kid) };
  });
}

export async function publishedKeys(db: Queryable): Promise<{ keys: PublishedKey[] }> {
  const rows = await db.selectFrom('audit_signing_keys').selectAll().orderBy('created_at').execute();
  return {
    keys: rows.map((r) => {
      const jwk = JSON.parse(r.public_jwk) as { x: string };
      return {
        kty: 'OKP',
        crv: 'Ed25519',
        x: jwk.x,
        kid: r.kid,
        alg: 'EdDSA',
        use: 'sig',
        status: r.status,
        createdAt: r.created_at,
        retiredAt: r.retired_at,
      };
    }),
  };
}

export function signPayload(payload: CheckpointPayload, key: KeyObject): string {
  return sign(null, Buffer.from(canonicalJson(payload)), key).toString('base64url');
}

/** Checks a checkpoint's signature against published keys; returns why not, or undefined when valid. */
export function checkpointSignatureProblem(cp: SignedCheckpoint, keys: PublishedKey[]): string | undefined {
  const jwk = keys.find((k) => k.kid === cp.payload.kid);
  if (!jwk) return `checkpoint ${cp.id} is signed by key ${cp.payload.kid}, which is not among the published keys`;
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  const ok = verify(null, Buffer.from(canonicalJson(cp.payload)), key, Buffer.from(cp.signature, 'base64url'));
  return ok ? undefined : `checkpoint ${cp.id} has an invalid signature: it was altered or not made by Palisade`;
}

/** Signs the organization's current chain position. Run inside the transaction that changed it, or alone. */
export async function createCheckpoint(
  db: Queryable,
  now: Date,
  orgId: string,
  kind: CheckpointPayload['kind'],
  at: { seq: number; hash: string } | undefined,
  config: PalisadeConfig,
): Promise<SignedCheckpoint> {
  const head = at ??
    (await db
      .selectFrom('audit_chain_heads')
      .select(['seq', 'hash'])
      .where('org_id', '=', orgId)
      .executeTakeFirst()) ?? { seq: 0, hash: '0'.repeat(64) };
  const anchor = await db
    .selectFrom('audit_anchors')
    .select(['first_seq', 'prev_hash'])
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  const firstSeq = anchor ? Number(anchor.first_seq) : 1;
  const { kid, key } = await activeSigningKey(db, now, config);
  const payload: CheckpointPayload = {
    v: 1,
    type: 'palisade.audit.checkpoint',
    orgId,
    seq: Number(head.seq),
    hash: head.hash,
    firstSeq,
    count: Math.max(0, Number(head.seq) - firstSeq + 1),
    anchorHash: anchor?.prev_hash ?? '0'.repeat(64),
    kind,
    at: now.toISOString(),
    kid,
  };
  const signature = signPayload(payload, key);
  const id = newId('ckp', now);
  await db
    .insertInto('audit_checkpoints')
    .values({
      id,
      org_id: orgId,
      seq: payload.seq,
      hash: payload.hash,
      kind,
      kid,
      payload: canonicalJson(payload),
      signature,
      created_at: payload.at,
    })
    .execute();
  return { id, payload, signature };
}

export async function listCheckpoints(db: Queryable, orgId: string): Promise<SignedCheckpoint[]> {
  const rows = await db
    .selectFrom('audit_checkpoints')
    .select(['id', 'payload', 'signature'])
    .where('org_id', '=', orgId)
    .orderBy('seq')
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ id: r.id, payload: JSON.parse(r.payload) as CheckpointPayload, signature: r.signature }));
}

/** The periodic job: one checkpoint per organization whose chain grew since its last checkpoint. */
export async function checkpointAll(ctx: Pick<Ctx, 'db' | 'clock' | 'config'>): Promise<{ checkpoints: number }> {
  // Checkpoints sign what is acknowledged: events appended and not yet sealed are sealed first.
  await sealAllPendingAudit(ctx.db);
  const heads = await ctx.db.selectFrom('audit_chain_heads').select(['org_id', 'seq', 'hash']).execute();
  let n = 0;
  for (const h of heads) {
    const last = await ctx.db
      .selectFrom('audit_checkpoints')
      .select('seq')
      .where('org_id', '=', h.org_id)
      .orderBy('seq', 'desc')
      .executeTakeFirst();
    if (last && Number(last.seq) >= Number(h.seq)) continue;
    await ctx.db
      .transaction()
      .execute((tx) =>
        createCheckpoint(tx, ctx.clock.now(), h.org_id, 'periodic', { seq: Number(h.seq), hash: h.hash }, ctx.config),
      );
    n++;
  }
  return { checkpoints: n };
}
