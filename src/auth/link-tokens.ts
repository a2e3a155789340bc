import { addMs } from '../clock.js';
import type { Ctx } from '../context.js';
import type { Queryable, Tx } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { newId } from '../ids.js';
import { generateSecret, hashSecret, secretKind } from './secrets.js';

/**
 * One-time links: the setup link `palisade init` prints and the link an invitation carries. The
 * link sets the person's password and signs them in; it works once and expires.
 */
export async function createLinkToken(
  db: Queryable,
  ctx: Pick<Ctx, 'clock' | 'config'>,
  input: { purpose: 'setup' | 'invite'; userId: string; orgId: string; membershipId: string | null },
): Promise<{ secret: string; url: string; expiresAt: string }> {
  const now = ctx.clock.now();
  const secret = generateSecret('lnk');
  const expiresAt = addMs(now, ctx.config.linkTtlHours * 3_600_000).toISOString();
  await db
    .insertInto('link_tokens')
    .values({ id: newId('lnk', now), purpose: input.purpose, token_hash: hashSecret(secret), user_id: input.userId, org_id: input.orgId, membership_id: input.membershipId, created_at: now.toISOString(), expires_at: expiresAt, used_at: null })
    .execute();
  return { secret, url: `${ctx.config.publicUrl}/setup#token=${secret}`, expiresAt };
}

const invalidLink = () =>
  new PalisadeError(400, 'invalid_or_expired_link', 'This link is invalid, has expired or was already used. Ask an administrator of your organization for a new invitation.');

/** Marks the link used (inside the caller's transaction) and returns what it was for. */
export async function consumeLinkToken(tx: Tx, now: Date, secret: string) {
  if (secretKind(secret) !== 'lnk') throw invalidLink();
  const row = await tx.selectFrom('link_tokens').selectAll().where('token_hash', '=', hashSecret(secret)).executeTakeFirst();
  if (!row || row.used_at !== null || row.expires_at <= now.toISOString()) throw invalidLink();
  const claimed = await tx.updateTable('link_tokens').set({ used_at: now.toISOString() }).where('id', '=', row.id).where('used_at', 'is', null).executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) throw invalidLink();
  return row;
}
