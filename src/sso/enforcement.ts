import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { conflict } from '../errors.js';
import { guardChange } from '../lockout/guard.js';
import { ImpactFields, type ImpactView, impactView } from '../lockout/views.js';
import { authorize } from '../orgs/authorize.js';
import type { Tx } from '../db/schema.js';
import { type BreakGlassOwnerView, breakGlassOwners } from './break-glass.js';
import { type ConnectionRow, loadConnection } from './connections.js';
import { isTestIdpConnection } from './test-idp-policy.js';

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

export interface EnforcementReadiness {
  /** What is missing, in the words of the refusal (empty: the preconditions hold). */
  missing: string[];
  testLogin: { lastAt: string | null; maxAgeDays: number; recent: boolean };
  owners: BreakGlassOwnerView[];
}

/**
 * The preconditions of enforcement, all listed at once: the connection is active, an admin completed
 * a test login through it recently, and a primary owner has a working break-glass second factor.
 * Together these mean enforcement cannot lock the organization out. Read by enforceSso (which
 * refuses with `missing`) and by the dry run (which reports it).
 */
export async function enforcementReadiness(
  ctx: Ctx,
  orgId: string,
  conn: ConnectionRow,
): Promise<EnforcementReadiness> {
  const now = ctx.clock.now();
  const missing: string[] = [];
  if (conn.status !== 'active')
    missing.push(
      conn.status === 'draft'
        ? 'the connection is a draft without IdP metadata; add it first'
        : 'the connection is disabled; enable it first',
    );
  // Anyone who reaches the test IdP can type any address into it: never the only way in while it is off.
  if (isTestIdpConnection(conn) && !ctx.config.testIdp)
    missing.push(
      "the connection uses Palisade's built-in test identity provider, which is turned off on this installation (PALISADE_TEST_IDP); enforce a connection to a real identity provider",
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
  const owners = await breakGlassOwners(ctx.db, ctx, orgId);
  if (!owners.some((o) => o.ready))
    missing.push(
      'no primary owner has break-glass access (a password and a confirmed authenticator app); a primary owner should enroll at POST /api/v1/me/totp',
    );
  return {
    missing,
    testLogin: {
      lastAt: conn.last_test_login_at,
      maxAgeDays: maxAge,
      recent: conn.last_test_login_at !== null && conn.last_test_login_at >= cutoff,
    },
    owners,
  };
}

/** The change enforcement makes (one row), applied for real by enforceSso and in a rolled-back transaction by the dry run. */
export async function writeEnforcement(
  tx: Tx,
  ctx: Pick<Ctx, 'caller'>,
  orgId: string,
  connectionId: string,
  at: string,
): Promise<void> {
  await tx.deleteFrom('sso_enforcement').where('org_id', '=', orgId).execute();
  await tx
    .insertInto('sso_enforcement')
    .values({
      org_id: orgId,
      connection_id: connectionId,
      enforced_at: at,
      enforced_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null,
    })
    .execute();
}

/**
 * Turns on "members must use SSO". Refused, saying what is missing, unless the preconditions of
 * enforcementReadiness hold; then the lockout guard lists who would be left without a way in.
 */
export async function enforceSso(ctx: Ctx, orgId: string, input: EnforceInput): Promise<EnforcementView & ImpactView> {
  await authorize(ctx, orgId, 'sso.manage');
  const conn = await loadConnection(ctx.db, orgId, input.connectionId);
  const { missing } = await enforcementReadiness(ctx, orgId, conn);
  if (missing.length) {
    throw conflict('sso_enforcement_not_ready', `SSO cannot be enforced yet: ${missing.join('; ')}.`, {
      missing,
      connectionId: conn.id,
      lastTestLoginAt: conn.last_test_login_at,
    });
  }
  const at = ctx.clock.now().toISOString();
  // Password sign-in ends for members: the guard lists who would be left without a way in.
  const target = { type: 'sso_connection', id: conn.id, name: conn.name };
  const { impact } = await ctx.db.transaction().execute(async (tx) =>
    guardChange(
      tx,
      ctx,
      { orgId, change: 'sso_enforcement', target, acknowledge: input.acknowledgeWarnings === true },
      async () => {
        await writeEnforcement(tx, ctx, orgId, conn.id, at);
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
