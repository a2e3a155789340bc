import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { previewChange } from '../lockout/guard.js';
import { ImpactFields, impactView } from '../lockout/views.js';
import { authorize } from '../orgs/authorize.js';
import { RoleSchema } from '../orgs/views.js';
import { BreakGlassOwnerView } from './break-glass.js';
import { loadConnection } from './connections.js';
import { enforcementReadiness, writeEnforcement } from './enforcement.js';

export const EnforcementDryRunInput = Type.Object(
  { connectionId: Type.String({ maxLength: 64, description: 'The connection members would have to use.' }) },
  { additionalProperties: false },
);
export type EnforcementDryRunInput = Static<typeof EnforcementDryRunInput>;

const MAX_LISTED = 1000;

const PersonBase = {
  userId: Type.String(),
  email: Type.String(),
  role: RoleSchema,
};

export const EnforcementDryRunView = Type.Object(
  {
    connection: Type.Object({
      id: Type.String(),
      name: Type.String(),
      status: Type.Union([Type.Literal('draft'), Type.Literal('active'), Type.Literal('disabled')]),
    }),
    ready: Type.Boolean({
      description: 'The preconditions hold: PUT …/sso/enforcement would not be refused with sso_enforcement_not_ready.',
    }),
    missing: Type.Array(Type.String(), { description: 'What is missing, in the words of that refusal.' }),
    testLogin: Type.Object({
      lastAt: Type.Union([Type.String(), Type.Null()], {
        description: 'When an admin last completed a test login through the connection.',
      }),
      maxAgeDays: Type.Integer({ description: 'How recent it must be (PALISADE_SSO_TEST_LOGIN_MAX_AGE_DAYS).' }),
      recent: Type.Boolean(),
    }),
    breakGlassOwners: Type.Array(BreakGlassOwnerView, {
      description: 'Every active primary owner and whether break-glass works for them; at least one must be ready.',
    }),
    losePasswordSignIn: Type.Array(
      Type.Object({
        ...PersonBase,
        hasSsoIdentity: Type.Boolean({
          description:
            'Has signed in through this connection before (a linked IdP subject, or a recorded SSO sign-in).',
        }),
        keepsBreakGlass: Type.Boolean({ description: 'A primary owner with working break-glass (password and code).' }),
      }),
      { description: 'Active members with a password: enforcement ends their password sign-in and password sessions.' },
    ),
    withoutSsoIdentity: Type.Array(Type.Object({ ...PersonBase, hasPassword: Type.Boolean() }), {
      description: 'Active members who never signed in through this connection (their first SSO sign-in links them).',
    }),
    totals: Type.Object({
      members: Type.Integer(),
      losePasswordSignIn: Type.Integer(),
      withoutSsoIdentity: Type.Integer(),
    }),
    ...ImpactFields,
  },
  { $id: 'SsoEnforcementDryRunView' },
);
export type EnforcementDryRunView = Static<typeof EnforcementDryRunView>;

/**
 * What enforcing SSO through a connection would do, changing nothing: the preconditions enforceSso
 * checks (enforcementReadiness), who would lose password sign-in, who has no SSO identity yet, each
 * primary owner's break-glass status, and the lockout guard's answer, measured by applying the
 * enforcement in a transaction that is rolled back (previewChange), as the real change is measured.
 */
export async function dryRunEnforcement(
  ctx: Ctx,
  orgId: string,
  input: EnforcementDryRunInput,
): Promise<EnforcementDryRunView> {
  await authorize(ctx, orgId, 'sso.manage');
  const conn = await loadConnection(ctx.db, orgId, input.connectionId);
  const readiness = await enforcementReadiness(ctx, orgId, conn);
  const at = ctx.clock.now().toISOString();
  const impact = await previewChange(ctx, orgId, (tx) => writeEnforcement(tx, ctx, orgId, conn.id, at));
  const members = await ctx.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select((eb) => [
      'users.id as user_id',
      'users.email',
      'users.password_hash',
      'memberships.role',
      // An SSO identity: a linked IdP subject (OIDC sub, SAML persistent NameID), or a recorded
      // sign-in through the connection (a SAML emailAddress NameID links no subject).
      eb
        .or([
          eb.exists(
            eb
              .selectFrom('sso_identities')
              .select('sso_identities.id')
              .whereRef('sso_identities.user_id', '=', 'users.id')
              .where('sso_identities.org_id', '=', orgId)
              .where('sso_identities.connection_id', '=', conn.id),
          ),
          eb.exists(
            eb
              .selectFrom('sso_logins')
              .select('sso_logins.id')
              .whereRef('sso_logins.user_id', '=', 'users.id')
              .where('sso_logins.org_id', '=', orgId)
              .where('sso_logins.connection_id', '=', conn.id),
          ),
        ])
        .as('has_identity'),
    ])
    .where('memberships.org_id', '=', orgId)
    .where('memberships.status', '=', 'active')
    .where('users.status', '=', 'active')
    .orderBy('users.email')
    .execute();
  const ready = new Set(readiness.owners.filter((o) => o.ready).map((o) => o.userId));
  // SQLite answers EXISTS with 0/1, PostgreSQL with a boolean.
  const identified = (v: unknown) => v === true || v === 1 || v === '1';
  const losing = members
    .filter((m) => m.password_hash !== null)
    .map((m) => ({
      userId: m.user_id,
      email: m.email,
      role: m.role,
      hasSsoIdentity: identified(m.has_identity),
      keepsBreakGlass: m.role === 'primary_owner' && ready.has(m.user_id),
    }));
  const unlinked = members
    .filter((m) => !identified(m.has_identity))
    .map((m) => ({ userId: m.user_id, email: m.email, role: m.role, hasPassword: m.password_hash !== null }));
  return {
    connection: { id: conn.id, name: conn.name, status: conn.status },
    ready: readiness.missing.length === 0,
    missing: readiness.missing,
    testLogin: readiness.testLogin,
    breakGlassOwners: readiness.owners,
    losePasswordSignIn: losing.slice(0, MAX_LISTED),
    withoutSsoIdentity: unlinked.slice(0, MAX_LISTED),
    totals: { members: members.length, losePasswordSignIn: losing.length, withoutSsoIdentity: unlinked.length },
    ...impactView(impact),
  };
}
