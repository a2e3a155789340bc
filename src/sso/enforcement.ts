import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { hashSecret } from '../auth/secrets.js';
import type { Ctx } from '../context.js';
import type { Queryable, Role } from '../db/schema.js';
import { type ResolvedSession, revokeSession } from '../auth/sessions.js';
import { PalisadeError, conflict } from '../errors.js';
import { guardChange } from '../lockout/guard.js';
import { ImpactFields, type ImpactView, impactView } from '../lockout/views.js';
import { authorize } from '../orgs/authorize.js';
import { loadConnection } from './connections.js';
import { openTotpSecret } from './totp-secret.js';

export const EnforceInput = Type.Object(
  {
    connectionId: Type.String({ maxLength: 64 }),
    acknowledgeWarnings: Type.Optional(
      Type.Boolean({
        description:
          'Enforce even though the lockout guard lists people who would lose access (members who sign in only with a password, or whose SSO sign-in fails).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type EnforceInput = Static<typeof EnforceInput>;

export const EnforcementView = Type.Object(
  {
    enforced: Type.Boolean(),
    connectionId: Type.Union([Type.String(), Type.Null()]),
    enforcedAt: Type.Union([Type.String(), Type.Null()]),
    loginUrl: Type.Union([Type.String(), Type.Null()], { description: 'Where members sign in while enforced.' }),
  },
  { $id: 'SsoEnforcementView' },
);
export interface EnforcementView {
  enforced: boolean;
  connectionId: string | null;
  enforcedAt: string | null;
  loginUrl: string | null;
}

export const EnforcedView = Type.Object({
  enforced: Type.Boolean(),
  connectionId: Type.Union([Type.String(), Type.Null()]),
  enforcedAt: Type.Union([Type.String(), Type.Null()]),
  loginUrl: Type.Union([Type.String(), Type.Null()]),
  ...ImpactFields,
});

export async function getEnforcement(ctx: Ctx, orgId: string): Promise<EnforcementView> {
  await authorize(ctx, orgId, 'sso.manage');
  const row = await ctx.db.selectFrom('sso_enforcement').selectAll().where('org_id', '=', orgId).executeTakeFirst();
  return {
    enforced: !!row,
    connectionId: row?.connection_id ?? null,
    enforcedAt: row?.enforced_at ?? null,
    loginUrl: row ? `${ctx.config.publicUrl}/sso/${row.connection_id}/start` : null,
  };
}

/**
 * Turns on "members must use SSO". Refused, saying what is missing, unless: the connection is
 * active, an admin completed a test login through it recently, and a primary owner has a working
 * break-glass second factor. Together these mean enforcement cannot lock the organization out.
 */
export async function enforceSso(ctx: Ctx, orgId: string, input: EnforceInput): Promise<EnforcementView & ImpactView> {
  await authorize(ctx, orgId, 'sso.manage');
  const conn = await loadConnection(ctx.db, orgId, input.connectionId);
  const now = ctx.clock.now();
  const missing: string[] = [];
  if (conn.status !== 'active')
    missing.push(
      conn.status === 'draft'
        ? 'the connection is a draft without IdP metadata; add it first'
        : 'the connection is disabled; enable it first',
    );
  const maxAge = ctx.config.ssoTestLoginMaxAgeDays;
  const cutoff = new Date(now.getTime() - maxAge * 86_400_000).toISOString();
  if (!conn.last_test_login_at)
    missing.push(
      `no admin has completed a test login through "${conn.name}"; open ${ctx.config.publicUrl}/sso/${conn.id}/start?test=1 while signed in as an admin and finish signing in at the identity provider`,
    );
  else if (conn.last_test_login_at < cutoff)
    missing.push(
      `the last successful test login (${conn.last_test_login_at}) is older than ${maxAge} days; run a new test login at ${ctx.config.publicUrl}/sso/${conn.id}/start?test=1`,
    );
  const candidates = await ctx.db
    .selectFrom('memberships')
    .innerJoin('user_totp', 'user_totp.user_id', 'memberships.user_id')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['user_totp.user_id', 'user_totp.secret_ct', 'user_totp.kek_id'])
    .where('memberships.org_id', '=', orgId)
    .where('memberships.role', '=', 'primary_owner')
    .where('memberships.status', '=', 'active')
    .where('users.password_hash', 'is not', null)
    .where('user_totp.confirmed_at', 'is not', null)
    .execute();
  // "Working" means the sealed secret still opens (not modified, its master key still configured).
  let breakGlass = false;
  for (const c of candidates) {
    if ((await openTotpSecret(ctx.config, c)) !== null) {
      breakGlass = true;
      break;
    }
  }
  if (!breakGlass)
    missing.push(
      'no primary owner has break-glass access (a password and a confirmed authenticator app); a primary owner should enroll at POST /api/v1/me/totp',
    );
  if (missing.length) {
    throw conflict('sso_enforcement_not_ready', `SSO cannot be enforced yet: ${missing.join('; ')}.`, {
      missing,
      connectionId: conn.id,
      lastTestLoginAt: conn.last_test_login_at,
    });
  }
  const at = now.toISOString();
  // Password sign-in ends for members: the guard lists who would be left without a working way in.
  const target = { type: 'sso_connection', id: conn.id, name: conn.name };
  const { impact } = await ctx.db.transaction().execute(async (tx) =>
    guardChange(
      tx,
      ctx,
      { orgId, change: 'sso_enforcement', target, acknowledge: input.acknowledgeWarnings === true },
      async () => {
        await tx.deleteFrom('sso_enforcement').where('org_id', '=', orgId).execute();
        await tx
          .insertInto('sso_enforcement')
          .values({
            org_id: orgId,
            connection_id: conn.id,
            enforced_at: at,
            enforced_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null,
          })
          .execute();
        await recordAudit(tx, ctx, {
          orgId,
          action: 'sso.enforcement_enabled',
          targets: [target],
          metadata: { lastTestLoginAt: conn.last_test_login_at },
        });
      },
    ),
  );
  return { ...(await getEnforcement(ctx, orgId)), ...impactView(impact) };
}

export async function stopEnforcingSso(ctx: Ctx, orgId: string): Promise<EnforcementView> {
  await authorize(ctx, orgId, 'sso.manage');
  await ctx.db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('sso_enforcement').selectAll().where('org_id', '=', orgId).executeTakeFirst();
    if (!row) return;
    await tx.deleteFrom('sso_enforcement').where('org_id', '=', orgId).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'sso.enforcement_disabled',
      targets: [{ type: 'sso_connection', id: row.connection_id }],
    });
  });
  return getEnforcement(ctx, orgId);
}

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
