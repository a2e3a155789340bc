import { recordAudit } from '../audit/record.js';
import { SYSTEM_CHAIN } from '../audit/event.js';
import { addMs } from '../clock.js';
import type { Ctx } from '../context.js';
import type { LinkDelivery, LinkPurpose, Queryable, Tx } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { newId } from '../ids.js';
import { recordBadToken } from './bad-credentials.js';
import { generateSecret, hashSecret, secretKind } from './secrets.js';

/**
 * One-time links: the first owner's setup link (`palisade init`), invitations of accounts that have
 * no credential yet, password resets, and email verification. A link works once, expires, and is
 * void once the account's password changes after it was issued.
 *
 * Who may hold a link that sets a credential is the heart of account security: it is delivered to
 * the address (`email`), and shown (`shown`) only to the installation's operator (the CLI) or to an
 * admin of the organization that manages the address's domain (src/domains/authority.ts).
 */
const PAGES: Record<LinkPurpose, string> = {
  setup: 'setup',
  invite: 'setup',
  reset: 'reset-password',
  verify_email: 'verify-email',
};

export async function createLinkToken(
  db: Queryable,
  ctx: Pick<Ctx, 'clock' | 'config'>,
  input: {
    purpose: LinkPurpose;
    userId: string;
    orgId: string;
    membershipId: string | null;
    delivery: LinkDelivery;
    issuedBy?: string | null;
    ttlHours?: number;
  },
): Promise<{ id: string; secret: string; url: string; expiresAt: string }> {
  const now = ctx.clock.now();
  const secret = generateSecret('lnk');
  const id = newId('lnk', now);
  const expiresAt = addMs(now, (input.ttlHours ?? ctx.config.linkTtlHours) * 3_600_000).toISOString();
  await db
    .insertInto('link_tokens')
    .values({
      id,
      purpose: input.purpose,
      token_hash: hashSecret(secret),
      user_id: input.userId,
      org_id: input.orgId,
      membership_id: input.membershipId,
      created_at: now.toISOString(),
      expires_at: expiresAt,
      used_at: null,
      delivery: input.delivery,
      issued_by: input.issuedBy ?? null,
    })
    .execute();
  return { id, secret, url: `${ctx.config.publicUrl}/${PAGES[input.purpose]}#token=${secret}`, expiresAt };
}

export type LinkRow = Awaited<ReturnType<typeof findLink>>;
const findLink = (db: Queryable, secret: string) =>
  db.selectFrom('link_tokens').selectAll().where('token_hash', '=', hashSecret(secret)).executeTakeFirst();

const invalidLink = () =>
  new PalisadeError(
    400,
    'invalid_or_expired_link',
    'This link is invalid, has expired or was already used. Ask for a new one: an administrator can invite you again, and "Forgot password" on the sign-in page sends a new reset link.',
  );

const supersededLink = () =>
  new PalisadeError(
    400,
    'link_superseded',
    'This link was issued before the account\'s password was last set, so it no longer works. Sign in with your password, or use "Forgot password" on the sign-in page.',
  );

export type LinkRefusalReason =
  | 'unknown'
  | 'already_used'
  | 'expired'
  | 'wrong_purpose'
  | 'password_changed_since'
  | 'domain_no_longer_managed'
  | 'managed_elsewhere';

/**
 * Audits a refused link in its organization's log (or the installation's, for a token that matches
 * nothing) outside the caller's transaction, which is about to roll back.
 */
export async function auditRefusedLink(
  ctx: Ctx,
  link: NonNullable<LinkRow> | undefined,
  reason: LinkRefusalReason,
): Promise<void> {
  await ctx.db.transaction().execute(async (tx) => {
    await recordAudit(tx, ctx, {
      orgId: link?.org_id ?? SYSTEM_CHAIN,
      action: 'auth.link_refused',
      outcome: 'denied',
      actor: { type: 'anonymous', id: null, email: null, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent },
      targets: link
        ? [
            { type: 'user', id: link.user_id },
            { type: 'link', id: link.id },
          ]
        : [],
      metadata: {
        reason,
        ...(link ? { purpose: link.purpose, delivery: link.delivery, issuedAt: link.created_at } : {}),
      },
    });
  });
}

/**
 * Checks a link before the change it makes (outside any transaction: refusals are audited in their
 * own). Unknown, used, expired and superseded links are refused with a stable code and an audit
 * event; an unknown one also counts against the client network's bad-token limit.
 * `extraCheck` adds the caller's own refusals (audited the same way).
 */
export async function checkLink(ctx: Ctx, secret: string, purposes: readonly LinkPurpose[]) {
  const now = ctx.clock.now();
  const row = secretKind(secret) === 'lnk' ? await findLink(ctx.db, secret) : undefined;
  const refuse = async (reason: LinkRefusalReason, error: PalisadeError = invalidLink()): Promise<never> => {
    await auditRefusedLink(ctx, row, reason);
    if (reason === 'unknown' || reason === 'wrong_purpose')
      await recordBadToken(ctx.db, ctx.clock, ctx.config, ctx.meta.ip);
    throw error;
  };
  if (!row) return refuse('unknown');
  if (!purposes.includes(row.purpose)) return refuse('wrong_purpose');
  const user = await ctx.db.selectFrom('users').selectAll().where('id', '=', row.user_id).executeTakeFirstOrThrow();
  // Said first: a link from before the password was set was also voided then, and this is the reason.
  if (user.password_changed_at !== null && row.created_at < user.password_changed_at && row.purpose !== 'verify_email')
    return refuse('password_changed_since', supersededLink());
  if (row.used_at !== null) return refuse('already_used');
  if (row.expires_at <= now.toISOString()) return refuse('expired');
  return { link: row, user, refuse };
}

/** Marks a checked link used, inside the change's transaction; a concurrent redemption that won makes this one fail. */
export async function claimLink(tx: Tx, now: Date, linkId: string): Promise<void> {
  const claimed = await tx
    .updateTable('link_tokens')
    .set({ used_at: now.toISOString() })
    .where('id', '=', linkId)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) throw invalidLink();
}

/** Voids every unused link of an account that sets a credential (after its password was set). */
export async function voidCredentialLinks(db: Queryable, now: Date, userId: string): Promise<number> {
  const r = await db
    .updateTable('link_tokens')
    .set({ used_at: now.toISOString() })
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .where('purpose', 'in', ['setup', 'invite', 'reset'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
