import { addMs } from '../clock.js';
import type { Ctx } from '../context.js';
import type { Queryable, SessionAuthMethod, User } from '../db/schema.js';
import { newId } from '../ids.js';
import { csrfTokenFor, generateSecret, hashSecret, secretKind } from './secrets.js';

export interface NewSession {
  sessionId: string;
  secret: string;
  csrfToken: string;
  expiresAt: string;
}

export async function createSession(
  db: Queryable,
  ctx: Pick<Ctx, 'clock' | 'config' | 'meta'>,
  userId: string,
  authMethod: SessionAuthMethod,
): Promise<NewSession> {
  const now = ctx.clock.now();
  const secret = generateSecret('ses');
  const id = newId('ses', now);
  const expiresAt = addMs(now, ctx.config.sessionTtlHours * 3_600_000).toISOString();
  await db
    .insertInto('sessions')
    .values({
      id,
      token_hash: hashSecret(secret),
      user_id: userId,
      created_at: now.toISOString(),
      expires_at: expiresAt,
      last_seen_at: now.toISOString(),
      ip: ctx.meta.ip,
      user_agent: ctx.meta.userAgent?.slice(0, 512) ?? null,
      revoked_at: null,
      auth_method: authMethod,
    })
    .execute();
  return { sessionId: id, secret, csrfToken: csrfTokenFor(secret), expiresAt };
}

export interface ResolvedSession {
  sessionId: string;
  authMethod: SessionAuthMethod;
  /** Whether an organization the user is an active member of enforces SSO (read in the same query). */
  ssoEnforced: boolean;
  user: User;
}

/** A live session and its active user, or undefined: expired, revoked, unknown and suspended all look the same. */
export async function resolveSession(db: Queryable, now: Date, secret: string): Promise<ResolvedSession | undefined> {
  if (secretKind(secret) !== 'ses') return undefined;
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .selectAll('users')
    .select(['sessions.id as session_id', 'sessions.expires_at', 'sessions.revoked_at', 'sessions.auth_method'])
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('memberships')
            .innerJoin('sso_enforcement', 'sso_enforcement.org_id', 'memberships.org_id')
            .select('memberships.id')
            .whereRef('memberships.user_id', '=', 'sessions.user_id')
            .where('memberships.status', '=', 'active'),
        )
        .as('sso_enforced'),
    )
    .where('sessions.token_hash', '=', hashSecret(secret))
    .executeTakeFirst();
  if (!row || row.revoked_at !== null || row.expires_at <= now.toISOString() || row.status !== 'active')
    return undefined;
  const { session_id, expires_at: _e, revoked_at: _r, auth_method, sso_enforced, ...user } = row;
  // SQLite answers EXISTS with 0/1, PostgreSQL with a boolean.
  return { sessionId: session_id, authMethod: auth_method, ssoEnforced: Boolean(sso_enforced), user };
}

/** Ends a session; false when it had ended already (a concurrent request, say). */
export async function revokeSession(db: Queryable, now: Date, sessionId: string): Promise<boolean> {
  const res = await db
    .updateTable('sessions')
    .set({ revoked_at: now.toISOString() })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/**
 * Ends every session, API token and gateway key of a user: used when they are suspended or removed,
 * and when their password is set through a link. `keepSessionId` spares the caller's own session;
 * `sessionsOnly` leaves tokens and keys (a password change by someone who knew the old one).
 */
export async function revokeAllCredentials(
  db: Queryable,
  now: Date,
  userId: string,
  opts: { keepSessionId?: string | undefined; sessionsOnly?: boolean } = {},
): Promise<{ sessions: number; tokens: number; gatewayKeys: number }> {
  const at = now.toISOString();
  let sessions = db
    .updateTable('sessions')
    .set({ revoked_at: at })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (opts.keepSessionId) sessions = sessions.where('id', '!=', opts.keepSessionId);
  const s = await sessions.executeTakeFirst();
  if (opts.sessionsOnly) return { sessions: Number(s.numUpdatedRows), tokens: 0, gatewayKeys: 0 };
  const t = await db
    .updateTable('api_tokens')
    .set({ revoked_at: at })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  const g = await db
    .updateTable('gateway_keys')
    .set({ revoked_at: at })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return {
    sessions: Number(s.numUpdatedRows),
    tokens: Number(t.numUpdatedRows),
    gatewayKeys: Number(g.numUpdatedRows),
  };
}
