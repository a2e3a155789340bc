import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Queryable, Role } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { hashSecret } from './secrets.js';
import { type ResolvedSession, revokeSession } from './sessions.js';

/**
 * What SSO enforcement means for the other ways in: password sign-in, one-time links and the
 * sessions they opened. These read the enforcement the SSO domain writes (the `sso_enforcement`
 * table) and belong to sign-in, so auth/ never imports sso/ (which builds on auth's sessions).
 */

/** Organizations that require SSO of this person, with where to sign in. Primary owners may still use break-glass. */
export async function ssoRequirementsFor(
  db: Queryable,
  userId: string,
): Promise<{ orgId: string; role: Role; connectionId: string }[]> {
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('sso_enforcement', 'sso_enforcement.org_id', 'memberships.org_id')
    .select(['memberships.org_id', 'memberships.role', 'sso_enforcement.connection_id'])
    .where('memberships.user_id', '=', userId)
    .where('memberships.status', '=', 'active')
    .execute();
  return rows.map((r) => ({ orgId: r.org_id, role: r.role, connectionId: r.connection_id }));
}

/**
 * A session opened with a password or a one-time link belongs to the time before SSO was enforced
 * on its holder (or to an organization joined since): it ends at its next use, with one audit event
 * per organization that requires SSO, and the request goes on as anonymous. SSO and break-glass
 * sessions are not affected. Returns whether the session was ended.
 */
export async function endSessionIfSsoRequired(
  ctx: Pick<Ctx, 'db' | 'clock' | 'meta'>,
  session: ResolvedSession,
): Promise<boolean> {
  if (!session.ssoEnforced || (session.authMethod !== 'password' && session.authMethod !== 'link')) return false;
  const required = await ssoRequirementsFor(ctx.db, session.user.id);
  if (!required.length) return false;
  const { user } = session;
  await ctx.db.transaction().execute(async (tx) => {
    if (!(await revokeSession(tx, ctx.clock.now(), session.sessionId))) return; // a concurrent request ended it already
    const actor = {
      type: 'user' as const,
      id: user.id,
      email: user.email,
      ip: ctx.meta.ip,
      userAgent: ctx.meta.userAgent,
    };
    for (const r of required) {
      await recordAudit(
        tx,
        { ...ctx, caller: { kind: 'system', name: 'sso_enforcement' } },
        {
          orgId: r.orgId,
          action: 'auth.session_revoked',
          actor,
          targets: [
            { type: 'session', id: session.sessionId },
            { type: 'user', id: user.id, name: user.email },
          ],
          metadata: { reason: 'sso_required', method: session.authMethod, connectionId: r.connectionId },
        },
      );
    }
  });
  return true;
}

/**
 * Called by password sign-in once the password is right: a person in an organization that
 * enforces SSO is sent to the IdP instead; primary owners are pointed at break-glass.
 */
export async function assertPasswordLoginAllowed(ctx: Ctx, user: { id: string; email: string }): Promise<void> {
  const required = await ssoRequirementsFor(ctx.db, user.id);
  if (!required.length) return;
  const first = required[0] as (typeof required)[number];
  const loginUrl = `${ctx.config.publicUrl}/sso/${first.connectionId}/start`;
  const owner = required.every((r) => r.role === 'primary_owner');
  await ctx.db.transaction().execute(async (tx) => {
    for (const r of required) {
      await recordAudit(tx, ctx, {
        orgId: r.orgId,
        action: 'auth.login_failed',
        outcome: 'denied',
        actor: { type: 'user', id: user.id, email: user.email, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent },
        metadata: { method: 'password', reason: 'sso_required', connectionId: r.connectionId },
      });
    }
  });
  throw new PalisadeError(
    403,
    'sso_required',
    `Your organization requires single sign-on. Sign in at ${loginUrl}.${owner ? ' As a primary owner you can also use break-glass sign-in (POST /api/v1/auth/break-glass with your password and authenticator code) if SSO is broken.' : ''}`,
    { details: { loginUrl, orgIds: required.map((r) => r.orgId), breakGlassAvailable: owner } },
  );
}

/**
 * For password sign-in (src/auth/login.ts) when the account has no password at all: an account that
 * signs in through its organization's single sign-on gets `403 sso_required` with where to sign in,
 * instead of a generic `invalid_credentials` (a lapsed domain, or a bookmarked password page, must not
 * leave SSO people guessing). Undefined when the account has a password or no active SSO connection.
 * Call it after the failed attempt is counted and audited, as the other refusals are.
 */
export async function passwordlessAccountError(
  ctx: Pick<Ctx, 'db' | 'config'>,
  user: { id: string; password_hash: string | null; status: string },
): Promise<PalisadeError | undefined> {
  if (user.password_hash !== null || user.status !== 'active') return undefined;
  const rows = await ctx.db
    .selectFrom('memberships')
    .innerJoin('sso_connections', 'sso_connections.org_id', 'memberships.org_id')
    .leftJoin('sso_enforcement', 'sso_enforcement.org_id', 'memberships.org_id')
    .select(['memberships.org_id', 'sso_connections.id', 'sso_enforcement.connection_id as enforced'])
    .where('memberships.user_id', '=', user.id)
    .where('memberships.status', '=', 'active')
    .where('sso_connections.status', '=', 'active')
    .orderBy('sso_connections.id')
    .execute();
  if (!rows.length) return undefined;
  const best = rows.find((r) => r.id === r.enforced) ?? (rows[0] as (typeof rows)[number]);
  const loginUrl = `${ctx.config.publicUrl}/sso/${best.id}/start`;
  return new PalisadeError(
    403,
    'sso_required',
    `This account signs in through single sign-on and has no password. Sign in at ${loginUrl}.`,
    {
      details: { loginUrl, orgIds: [...new Set(rows.map((r) => r.org_id))], breakGlassAvailable: false },
    },
  );
}

/**
 * An invitation link into an organization that enforces SSO must not become a password sign-in:
 * the person accepts it by signing in through SSO instead. Primary owners keep their password
 * (it is half of break-glass).
 */
export async function assertLinkAllowed(ctx: Ctx, token: string): Promise<void> {
  const row = await ctx.db
    .selectFrom('link_tokens')
    .innerJoin('sso_enforcement', 'sso_enforcement.org_id', 'link_tokens.org_id')
    .leftJoin('memberships', 'memberships.id', 'link_tokens.membership_id')
    .select(['link_tokens.org_id', 'sso_enforcement.connection_id', 'memberships.role'])
    .where('link_tokens.token_hash', '=', hashSecret(token))
    .where('link_tokens.used_at', 'is', null)
    .executeTakeFirst();
  if (!row || row.role === 'primary_owner') return;
  const loginUrl = `${ctx.config.publicUrl}/sso/${row.connection_id}/start`;
  throw new PalisadeError(
    403,
    'sso_required',
    `This organization requires single sign-on, so invitations are accepted by signing in at ${loginUrl}, not by setting a password.`,
    { details: { loginUrl, orgIds: [row.org_id], breakGlassAvailable: false } },
  );
}
