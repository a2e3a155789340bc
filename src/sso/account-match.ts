import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Queryable, Tx, User } from '../db/schema.js';
import { isUniqueViolation } from '../db/unique.js';
import { newId } from '../ids.js';
import { findUserByEmail, findUserById } from '../users/store.js';
import type { ConnectionRow } from './connections.js';
import { fail } from './diagnosis.js';
import type { Identity } from './provision.js';

/**
 * Which Palisade account an IdP's sign-in is for. Where the IdP gives a stable subject (OIDC `sub`,
 * SAML NameID in the persistent format) the account is found by it first, so an address changed at
 * the IdP updates the account instead of creating a second one; otherwise (and for the first sign-in
 * of an account) by email. Pure over what was looked up, so the real sign-in and the lockout guard's
 * replay decide alike.
 */
export type MatchedUser = Pick<User, 'id' | 'email' | 'status'>;

export interface AccountLookups {
  /** The account linked to this identity's subject on this connection, if any. */
  linked: MatchedUser | undefined;
  /** The account with the identity's email, if any. */
  byEmail: MatchedUser | undefined;
  /** The subject `byEmail` is linked to on this connection, if any. */
  subjectOfByEmail: string | undefined;
}

export interface AccountMatch {
  user: MatchedUser | undefined;
  matchedBy: 'subject' | 'email' | null;
  /** The account was found by its subject and the IdP now sends another address for it. */
  emailChange: { from: string; to: string } | null;
  conflict: { code: 'sso_email_in_use' | 'sso_subject_mismatch'; message: string } | null;
}

export function matchAccount(identity: Identity, found: AccountLookups): AccountMatch {
  if (identity.stableSubject && found.linked) {
    const user = found.linked;
    if (user.email === identity.email) return { user, matchedBy: 'subject', emailChange: null, conflict: null };
    const emailChange = { from: user.email, to: identity.email };
    if (found.byEmail && found.byEmail.id !== user.id) {
      return {
        user,
        matchedBy: 'subject',
        emailChange,
        conflict: {
          code: 'sso_email_in_use',
          message: `The identity provider now sends ${identity.email} for the person who signed in as ${user.email}, but another Palisade account already uses ${identity.email}. Nothing was changed. Correct the address at the identity provider, or remove the other account's membership and ask the operator to retire it, then sign in again.`,
        },
      };
    }
    return { user, matchedBy: 'subject', emailChange, conflict: null };
  }
  const user = found.byEmail;
  if (
    user &&
    identity.stableSubject &&
    found.subjectOfByEmail !== undefined &&
    found.subjectOfByEmail !== identity.subject
  ) {
    return {
      user,
      matchedBy: 'email',
      emailChange: null,
      conflict: {
        code: 'sso_subject_mismatch',
        message: `${identity.email} is linked to a different person at the identity provider (another stable subject), so this sign-in cannot open that account. If the address was given to someone new, offboard the previous holder and release the old link (DELETE …/sso/connections/{connectionId}/identities/{userId}); the next sign-in then links the account to the new person.`,
      },
    };
  }
  return { user, matchedBy: user ? 'email' : null, emailChange: null, conflict: null };
}

/** Looks up what matchAccount needs for one sign-in. */
export async function lookupAccount(
  db: Queryable,
  conn: Pick<ConnectionRow, 'id'>,
  identity: Identity,
): Promise<AccountLookups> {
  const link = identity.stableSubject
    ? await db
        .selectFrom('sso_identities')
        .select('user_id')
        .where('connection_id', '=', conn.id)
        .where('subject', '=', identity.subject)
        .executeTakeFirst()
    : undefined;
  const linked = link ? await findUserById(db, link.user_id) : undefined;
  const byEmail = await findUserByEmail(db, identity.email);
  const subjectOfByEmail =
    byEmail && identity.stableSubject
      ? (
          await db
            .selectFrom('sso_identities')
            .select('subject')
            .where('connection_id', '=', conn.id)
            .where('user_id', '=', byEmail.id)
            .executeTakeFirst()
        )?.subject
      : undefined;
  return { linked, byEmail, subjectOfByEmail };
}

/** Records (or refreshes) the link between the IdP's stable subject and the account it signed in. */
export async function linkIdentity(
  tx: Tx,
  conn: ConnectionRow,
  identity: Identity,
  userId: string,
  now: Date,
): Promise<void> {
  if (!identity.stableSubject) return;
  const at = now.toISOString();
  const updated = await tx
    .updateTable('sso_identities')
    .set({ last_login_at: at })
    .where('connection_id', '=', conn.id)
    .where('subject', '=', identity.subject)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 1) return;
  try {
    await tx
      .insertInto('sso_identities')
      .values({
        id: newId('sid', now),
        org_id: conn.org_id,
        connection_id: conn.id,
        subject: identity.subject,
        user_id: userId,
        created_at: at,
        last_login_at: at,
      })
      .execute();
  } catch (err) {
    // A concurrent first sign-in linked the subject or the account meanwhile: refused rather than guessed.
    if (isUniqueViolation(err))
      throw fail(
        'sso_subject_mismatch',
        'Your Palisade account is linked to a different identity at your identity provider, so you were not signed in. Ask your administrator.',
        'one stable subject per account',
        { detail: 'The account or the subject was linked by a concurrent sign-in.' },
      );
    throw err;
  }
}

/**
 * An address changed at the IdP for an account found by its stable subject: the account's email
 * follows, audited in every organization the account belongs to (it is one organization: an IdP
 * never signs in an account that belongs to another one).
 */
export async function applyEmailChange(
  tx: Tx,
  ctx: Ctx,
  conn: ConnectionRow,
  user: User,
  change: { from: string; to: string },
  now: Date,
): Promise<User> {
  try {
    await tx
      .updateTable('users')
      .set({ email: change.to, updated_at: now.toISOString() })
      .where('id', '=', user.id)
      .where('email', '=', change.from)
      .execute();
  } catch (err) {
    if (isUniqueViolation(err))
      throw fail(
        'sso_email_in_use',
        'Your identity provider now sends an email address that another Palisade account already uses, so you were not signed in. Ask your administrator.',
        'new email is free',
        { received: change.to },
      );
    throw err;
  }
  await recordAudit(tx, ctx, {
    orgId: conn.org_id,
    action: 'user.email_changed',
    actor: { type: 'user', id: user.id, email: change.to, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent },
    targets: [
      { type: 'user', id: user.id, name: change.to },
      { type: 'sso_connection', id: conn.id },
    ],
    metadata: {
      from: change.from,
      to: change.to,
      via: 'sso_stable_subject',
      reason:
        'The identity provider sent a new address for the same person (same stable subject); the account follows it instead of a second account being created.',
    },
  });
  return { ...user, email: change.to };
}
