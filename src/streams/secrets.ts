import { recordAudit } from '../audit/record.js';
import type { AuditStreamsTable } from '../audit/tables.js';
import type { PalisadeConfig } from '../config.js';
import type { Ctx } from '../context.js';
import { type RecordRef, openText, sealFor } from '../crypto/data-keys.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError } from '../errors.js';

/**
 * SIEM destination credentials at rest: the HEC token, Datadog API key or webhook signing secret
 * is sealed with the organization's data key (AES-256-GCM; the associated data binds organization,
 * table, stream id and key version, so a ciphertext copied to another row does not open). Only
 * the delivery path opens it, for one request. Crypto-shredding the organization makes it
 * unreadable: delivery then fails with a clear error instead of sending an empty credential.
 */
export const streamSecretRef = (orgId: string, streamId: string): RecordRef => ({
  orgId,
  table: 'audit_streams',
  recordId: streamId,
});

export type SealedSecret = Pick<AuditStreamsTable, 'secret' | 'secret_ct' | 'secret_key_version' | 'secret_hint'>;

/** The column values for a new credential: sealed, the legacy plaintext column emptied, `…last4` as the only visible part. */
export async function sealStreamSecret(
  db: Queryable,
  config: PalisadeConfig,
  now: Date,
  orgId: string,
  streamId: string,
  secret: string,
): Promise<SealedSecret> {
  const sealed = await sealFor(db, config, now, streamSecretRef(orgId, streamId), secret);
  return {
    secret: null,
    secret_ct: sealed.ct,
    secret_key_version: sealed.keyVersion,
    secret_hint: `…${secret.slice(-4)}`,
  };
}

export type OpenedSecret =
  | { ok: true; secret: string | null }
  /** `permanent`: retrying cannot help until an admin enters the credential again. */
  | { ok: false; permanent: boolean; code: string; error: string };

const reenter = (row: Pick<AuditStreamsTable, 'kind'>) =>
  row.kind === 'webhook'
    ? 'generate a new signing secret (PATCH the destination with {"rotateWebhookSecret": true}) and give it to the receiver'
    : 'enter the token again (PATCH the destination with {"token": "…"})';

/** The destination's credential in clear, for one delivery; never throws. */
export async function openStreamSecret(
  db: Queryable,
  config: PalisadeConfig,
  row: Pick<AuditStreamsTable, 'id' | 'org_id' | 'kind' | 'secret' | 'secret_ct' | 'secret_key_version'>,
): Promise<OpenedSecret> {
  if (row.secret_ct === null) {
    // No credential (syslog), or one written before sealing existed: sealLegacyStreamSecrets seals it at the next delivery run.
    return { ok: true, secret: row.secret };
  }
  const integrity = {
    ok: false as const,
    permanent: true,
    code: 'stream_credential_integrity_failed',
    error: `stream_credential_integrity_failed: The stored credential of this destination failed its integrity check (it was modified, moved to another row or relabelled), so nothing was sent. An admin should ${reenter(row)}, then POST …/retry.`,
  };
  if (row.secret_key_version === null) return integrity;
  try {
    const secret = await openText(
      db,
      config,
      streamSecretRef(row.org_id, row.id),
      row.secret_ct,
      Number(row.secret_key_version),
    );
    if (secret === null) {
      return {
        ok: false,
        permanent: true,
        code: 'stream_credential_shredded',
        error: `stream_credential_shredded: The credential of this destination was encrypted with this organization's destroyed (crypto-shredded) keys and can no longer be read by anyone, so nothing was sent. An admin should ${reenter(row)}, then POST …/retry.`,
      };
    }
    return { ok: true, secret };
  } catch (err) {
    if (err instanceof PalisadeError && err.code === 'content_integrity_failed') return integrity;
    // The key-encryption key is unavailable (HSM down, master key missing): an installation problem; retry later.
    return {
      ok: false,
      permanent: false,
      code: 'stream_credential_unavailable',
      error: `stream_credential_unavailable: The credential of this destination could not be decrypted (${err instanceof Error ? err.message.slice(0, 200) : 'key provider error'}). An operator should check the key-encryption key configuration; delivery is retried.`,
    };
  }
}

/**
 * Seals credentials stored in clear before migration 0009, one row at a time; idempotent and safe
 * with several processes (compare-and-set on the old value). Each sealing is audited
 * (`stream.credentials_sealed`, without the value). A row that cannot be sealed now (key provider
 * down) keeps working from the legacy column and is tried again at the next run.
 */
export async function sealLegacyStreamSecrets(
  ctx: Pick<Ctx, 'db' | 'clock' | 'caller' | 'meta' | 'config'>,
): Promise<{ sealed: number; failed: number }> {
  const rows = await ctx.db
    .selectFrom('audit_streams')
    .select(['id', 'org_id', 'name', 'secret'])
    .where('secret', 'is not', null)
    .orderBy('id')
    .execute();
  let sealed = 0;
  let failed = 0;
  for (const row of rows) {
    const plaintext = row.secret as string;
    try {
      const done = await ctx.db.transaction().execute(async (tx) => {
        const now = ctx.clock.now();
        const s = await sealFor(tx, ctx.config, now, streamSecretRef(row.org_id, row.id), plaintext);
        const r = await tx
          .updateTable('audit_streams')
          .set({ secret: null, secret_ct: s.ct, secret_key_version: s.keyVersion, updated_at: now.toISOString() })
          .where('id', '=', row.id)
          .where('secret', '=', plaintext)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) return false; // another process sealed it, or an admin replaced it
        await recordAudit(tx, ctx, {
          orgId: row.org_id,
          action: 'stream.credentials_sealed',
          targets: [{ type: 'audit_stream', id: row.id, name: row.name }],
          metadata: { keyVersion: s.keyVersion },
        });
        return true;
      });
      if (done) sealed++;
    } catch {
      failed++;
    }
  }
  return { sealed, failed };
}
