import type { PalisadeConfig } from '../config.js';
import { keyProviderFor } from '../crypto/provider.js';
import type { Queryable } from '../db/schema.js';
import type { UserTotpTable } from './tables.js';

/**
 * TOTP secrets at rest. A TOTP secret is a person's second factor, like their password hash: it
 * belongs to no organization (one primary owner may use it to break glass into several), so it is
 * not sealed with an organization's data key. Organization data keys cannot serve an
 * installation-level scope either: `org_data_keys.org_id` is a foreign key to `organizations`, so
 * there is no "system" data key. Binding the secret to one of the person's organizations instead
 * would let crypto-shredding that organization silently disable break-glass into every other one.
 *
 * So the secret is sealed with the installation's key-encryption key (local master key or HSM key)
 * through the same provider that wraps data keys: AES-256-GCM, associated data binding the table,
 * the user id and the KEK id, so a secret copied onto another person's row, or modified, fails to
 * open. After a master-key rotation the `sso.rewrap_totp_secrets` job moves every secret to the
 * current KEK, like `crypto.rewrap_data_keys` does for data keys.
 */
const aad = (userId: string) => Buffer.from(`palisade-totp|v1|user_totp|${userId}`);

export async function sealTotpSecret(
  config: PalisadeConfig,
  userId: string,
  secret: string,
): Promise<{ secret_ct: string; kek_id: string }> {
  const { kekId, wrapped } = await keyProviderFor(config).wrap(Buffer.from(secret, 'utf8'), aad(userId));
  return { secret_ct: wrapped.toString('base64'), kek_id: kekId };
}

/** The base32 secret, or null when it cannot be opened (modified, moved, never sealed, or its KEK is gone): fail closed. */
export async function openTotpSecret(
  config: PalisadeConfig,
  row: Pick<UserTotpTable, 'user_id' | 'secret_ct' | 'kek_id'>,
): Promise<string | null> {
  if (!row.kek_id) return null;
  try {
    return (
      await keyProviderFor(config).unwrap(row.kek_id, Buffer.from(row.secret_ct, 'base64'), aad(row.user_id))
    ).toString('utf8');
  } catch {
    return null;
  }
}

/**
 * Re-seals TOTP secrets sealed by an older KEK with the current one, in batches; idempotent. A
 * secret that cannot be opened is counted and skipped, not fatal.
 */
export async function rewrapTotpSecrets(
  db: Queryable,
  config: PalisadeConfig,
  batch = 200,
): Promise<{ rewrapped: number; failed: number; remaining: number }> {
  const current = keyProviderFor(config).currentKekId();
  let rewrapped = 0;
  let failed = 0;
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('user_totp')
      .select(['user_id', 'secret_ct', 'kek_id'])
      .where('kek_id', '!=', current)
      .where('user_id', '>', after)
      .orderBy('user_id')
      .limit(batch)
      .execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      after = row.user_id;
      const secret = await openTotpSecret(config, row);
      if (secret === null) {
        failed += 1;
        continue;
      }
      const sealed = await sealTotpSecret(config, row.user_id, secret);
      // Compare-and-set: a concurrent re-enrollment or re-wrap wins and this one is a no-op.
      const r = await db
        .updateTable('user_totp')
        .set(sealed)
        .where('user_id', '=', row.user_id)
        .where('secret_ct', '=', row.secret_ct)
        .executeTakeFirst();
      rewrapped += Number(r.numUpdatedRows);
    }
  }
  const left = await db
    .selectFrom('user_totp')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('kek_id', '!=', current)
    .executeTakeFirstOrThrow();
  return { rewrapped, failed, remaining: Number(left.n) };
}
