import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { hashSecret } from '../auth/secrets.js';
import type { Ctx } from '../context.js';
import type { Queryable, Role } from '../db/schema.js';
import { type ResolvedSession, revokeSession } from '../auth/sessions.js';
import { PalisadeError, conflict } from '../errors.js';
import { assertDestinationAllowed } from '../net/outbound.js';
import { authorize } from '../orgs/authorize.js';
import { ROLE_RANK } from '../orgs/permissions.js';
import { type RoleMapping, RoleMappingInput, validateRoleMapping } from '../orgs/role-mapping.js';
import { type ConnectionRow, type ConnectionView, UpdateConnectionInput, applyUpdate, changedFields, claimNames, connectionView, loadConnection } from './connections.js';
import { fetchIdpMetadata } from './metadata-refresh.js';
import { type Identity, identityFrom, planLogin } from './provision.js';
import { sealConnectionSecret } from './secrets.js';
import { openTotpSecret } from './totp-secret.js';

export const EnforceInput = Type.Object({ connectionId: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
export type EnforceInput = Static<typeof EnforceInput>;

export interface EnforcementView {
  enforced: boolean;
  connectionId: string | null;
  enforcedAt: string | null;
  loginUrl: string | null;
}

export async function getEnforcement(ctx: Ctx, orgId: string): Promise<EnforcementView> {
  await authorize(ctx, orgId, 'sso.manage');
  const row = await ctx.db.selectFrom('sso_enforcement').selectAll().where('org_id', '=', orgId).executeTakeFirst();
  return { enforced: !!row, connectionId: row?.connection_id ?? null, enforcedAt: row?.enforced_at ?? null, loginUrl: row ? `${ctx.config.publicUrl}/sso/${row.connection_id}/start` : null };
}

/**
 * Turns on "members must use SSO". Refused, saying what is missing, unless: the connection is
 * active, an admin completed a test login through it recently, and a primary owner has a working
 * break-glass second factor. Together these mean enforcement cannot lock the organization out.
 */
export async function enforceSso(ctx: Ctx, orgId: string, input: EnforceInput): Promise<EnforcementView> {
  await authorize(ctx, orgId, 'sso.manage');
  const conn = await loadConnection(ctx.db, orgId, input.connectionId);
  const now = ctx.clock.now();
  const missing: string[] = [];
  if (conn.status !== 'active') missing.push('the connection is disabled; enable it first');
  const maxAge = ctx.config.ssoTestLoginMaxAgeDays;
  const cutoff = new Date(now.getTime() - maxAge * 86_400_000).toISOString();
  if (!conn.last_test_login_at) missing.push(`no admin has completed a test login through "${conn.name}"; open ${ctx.config.publicUrl}/sso/${conn.id}/start?test=1 while signed in as an admin and finish signing in at the identity provider`);
  else if (conn.last_test_login_at < cutoff) missing.push(`the last successful test login (${conn.last_test_login_at}) is older than ${maxAge} days; run a new test login at ${ctx.config.publicUrl}/sso/${conn.id}/start?test=1`);
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
  if (!breakGlass) missing.push('no primary owner has break-glass access (a password and a confirmed authenticator app); a primary owner should enroll at POST /api/v1/me/totp');
  if (missing.length) {
    throw conflict('sso_enforcement_not_ready', `SSO cannot be enforced yet: ${missing.join('; ')}.`, { missing, connectionId: conn.id, lastTestLoginAt: conn.last_test_login_at });
  }
  const at = now.toISOString();
  await ctx.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('sso_enforcement').where('org_id', '=', orgId).execute();
    await tx.insertInto('sso_enforcement').values({ org_id: orgId, connection_id: conn.id, enforced_at: at, enforced_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null }).execute();
    await recordAudit(tx, ctx, { orgId, action: 'sso.enforcement_enabled', targets: [{ type: 'sso_connection', id: conn.id, name: conn.name }], metadata: { lastTestLoginAt: conn.last_test_login_at } });
  });
  return getEnforcement(ctx, orgId);
}

export async function stopEnforcingSso(ctx: Ctx, orgId: string): Promise<EnforcementView> {
  await authorize(ctx, orgId, 'sso.manage');
  await ctx.db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('sso_enforcement').selectAll().where('org_id', '=', orgId).executeTakeFirst();
    if (!row) return;
    await tx.deleteFrom('sso_enforcement').where('org_id', '=', orgId).execute();
    await recordAudit(tx, ctx, { orgId, action: 'sso.enforcement_disabled', targets: [{ type: 'sso_connection', id: row.connection_id }] });
  });
  return getEnforcement(ctx, orgId);
}

/** Organizations that require SSO of this person, with where to sign in. Primary owners may still use break-glass. */
export async function ssoRequirementsFor(db: Queryable, userId: string): Promise<{ orgId: string; role: Role; connectionId: string }[]> {
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
export async function endSessionIfSsoRequired(ctx: Pick<Ctx, 'db' | 'clock' | 'meta'>, session: ResolvedSession): Promise<boolean> {
  if (!session.ssoEnforced || (session.authMethod !== 'password' && session.authMethod !== 'link')) return false;
  const required = await ssoRequirementsFor(ctx.db, session.user.id);
  if (!required.length) return false;
  const { user } = session;
  await ctx.db.transaction().execute(async (tx) => {
    if (!(await revokeSession(tx, ctx.clock.now(), session.sessionId))) return; // a concurrent request ended it already
    const actor = { type: 'user' as const, id: user.id, email: user.email, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent };
    for (const r of required) {
      await recordAudit(tx, { ...ctx, caller: { kind: 'system', name: 'sso_enforcement' } }, {
        orgId: r.orgId,
        action: 'auth.session_revoked',
        actor,
        targets: [{ type: 'session', id: session.sessionId }, { type: 'user', id: user.id, name: user.email }],
        metadata: { reason: 'sso_required', method: session.authMethod, connectionId: r.connectionId },
      });
    }
  });
  return true;
}

export interface ChangeWarning {
  email: string;
  lastLoginAt: string;
  problem: 'would_fail' | 'would_lose_role';
  before: Role | null;
  after: Role | null;
  explanation: string;
}

/**
 * Replays the last successful login of each person through a connection against a proposed
 * version of it: who would no longer get in, or would get a lower role.
 */
export async function simulateRecentLogins(db: Queryable, current: ConnectionRow, proposed: ConnectionRow, limit = 200, proposedMapping?: RoleMapping): Promise<ChangeWarning[]> {
  const rows = await db.selectFrom('sso_logins').selectAll().where('connection_id', '=', current.id).orderBy('occurred_at', 'desc').limit(limit * 5).execute();
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if (!latest.has(r.user_id)) latest.set(r.user_id, r);
  const warnings: ChangeWarning[] = [];
  const oldCerts = new Set(JSON.parse(current.saml_idp_certs ?? '[]') as string[]);
  const newCerts = JSON.parse(proposed.saml_idp_certs ?? '[]') as string[];
  const certsReplaced = current.protocol === 'saml' && !newCerts.some((c) => oldCerts.has(c));
  const issuerChanged = current.oidc_issuer !== proposed.oidc_issuer || current.saml_idp_entity_id !== proposed.saml_idp_entity_id;
  for (const r of [...latest.values()].slice(0, limit)) {
    const stored = JSON.parse(r.attributes) as { identity: Identity; raw: Record<string, unknown> };
    const base = { email: r.email, lastLoginAt: r.occurred_at, before: r.role };
    if (proposed.status !== 'active') {
      warnings.push({ ...base, problem: 'would_fail', after: null, explanation: 'The connection would be disabled.' });
      continue;
    }
    if (certsReplaced || issuerChanged) {
      warnings.push({ ...base, problem: 'would_fail', after: null, explanation: certsReplaced ? 'None of the new signing certificates is one this person\'s last login was verified with; keep the current certificate alongside the new one until the IdP has switched.' : 'The IdP issuer changes, so responses from the current IdP would be refused.' });
      continue;
    }
    let identity: Identity;
    try {
      identity = identityFrom(stored.raw, claimNames(proposed), stored.identity.subject, typeof stored.raw.nameID === 'string' ? stored.raw.nameID : undefined);
    } catch (err) {
      warnings.push({ ...base, problem: 'would_fail', after: null, explanation: (err as { diagnosis?: { check?: string } }).diagnosis?.check ? `The new claim names find no usable email (${(err as Error).message}).` : String(err) });
      continue;
    }
    const plan = await planLogin(db, proposed, identity, proposedMapping);
    if (!plan.allowed) warnings.push({ ...base, problem: 'would_fail', after: null, explanation: plan.refusal?.message ?? 'refused' });
    else if (r.role && plan.role && ROLE_RANK[plan.role] < ROLE_RANK[r.role]) warnings.push({ ...base, problem: 'would_lose_role', after: plan.role, explanation: plan.explanation.join(' ') });
  }
  return warnings;
}

/** Changing a connection; an enforced one is first simulated against recent logins, and a harmful change needs acknowledgement. */
export async function updateConnection(ctx: Ctx, orgId: string, id: string, input: UpdateConnectionInput): Promise<ConnectionView & { warnings: ChangeWarning[] }> {
  await authorize(ctx, orgId, 'sso.manage');
  const current = await loadConnection(ctx.db, orgId, id);
  const at = ctx.clock.now().toISOString();
  const fetched = input.saml?.metadataUrl && !input.saml.metadataXml && current.protocol === 'saml' ? await fetchIdpMetadata(ctx.config, input.saml.metadataUrl) : undefined;
  const next = applyUpdate(current, input, at, fetched);
  // Discovery fetches from the issuer: refused now (400) rather than at the next sign-in.
  if (next.oidc_issuer && next.oidc_issuer !== current.oidc_issuer) await assertDestinationAllowed(ctx.config, new URL(next.oidc_issuer).hostname);
  const enforced = await ctx.db.selectFrom('sso_enforcement').select('connection_id').where('org_id', '=', orgId).executeTakeFirst();
  let warnings: ChangeWarning[] = [];
  if (enforced?.connection_id === id) {
    warnings = await simulateRecentLogins(ctx.db, current, next);
    if (warnings.length && !input.acknowledgeWarnings) {
      throw new PalisadeError(409, 'sso_change_would_lock_out', `SSO is enforced through this connection and the change would affect ${warnings.length} recent sign-in(s): ${warnings.slice(0, 3).map((w) => `${w.email} ${w.problem === 'would_fail' ? 'could no longer sign in' : `would drop from ${w.before} to ${w.after}`}`).join('; ')}. Fix the change, or send "acknowledgeWarnings": true to apply it anyway.`, { details: { warnings } });
    }
  }
  const fields = changedFields(current, next);
  const newSecret = input.oidc?.clientSecret;
  if (newSecret !== undefined) fields.push('oidc_client_secret (rotated)');
  await ctx.db.transaction().execute(async (tx) => {
    if (newSecret !== undefined) {
      const s = await sealConnectionSecret(tx, ctx.config, ctx.clock.now(), next, 'oidc_client_secret', newSecret);
      next.oidc_client_secret_ct = s.ct;
      next.oidc_client_secret_key_version = s.keyVersion;
    }
    const { id: _id, org_id: _org, created_at: _c, ...set } = next;
    await tx.updateTable('sso_connections').set(set).where('id', '=', id).where('org_id', '=', orgId).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'sso.connection_updated',
      targets: [{ type: 'sso_connection', id, name: next.name }],
      metadata: {
        fields,
        enforced: enforced?.connection_id === id,
        warnings: warnings.length,
        acknowledged: !!input.acknowledgeWarnings && warnings.length > 0,
        ...(current.saml_sign_authn_requests !== next.saml_sign_authn_requests ? { signAuthnRequests: next.saml_sign_authn_requests === 1 } : {}),
        // Weakening what a connection accepts is named outright, not only among the changed fields.
        ...(current.saml_allow_sha1 !== next.saml_allow_sha1 ? { allowSha1Signatures: next.saml_allow_sha1 === 1 } : {}),
        ...(current.oidc_token_auth_method !== next.oidc_token_auth_method ? { tokenAuthMethod: next.oidc_token_auth_method ?? 'auto' } : {}),
      },
    });
  });
  return { ...connectionView(ctx, next), warnings };
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

export const ImpactInput = Type.Object(
  {
    changes: Type.Optional(Type.Omit(UpdateConnectionInput, ['acknowledgeWarnings'])),
    mapping: Type.Optional(RoleMappingInput),
  },
  { additionalProperties: false },
);
export type ImpactInput = Static<typeof ImpactInput>;

/**
 * Before changing a connection or the organization's group-to-role mapping: replays each person's
 * last successful login through this connection against the proposal and lists who would no longer
 * get in or would get a lower role. Nothing is changed.
 */
export async function connectionChangeImpact(ctx: Ctx, orgId: string, id: string, input: ImpactInput): Promise<{ checkedLogins: number; warnings: ChangeWarning[] }> {
  await authorize(ctx, orgId, 'sso.manage');
  const current = await loadConnection(ctx.db, orgId, id);
  const changes = input.changes ?? {};
  const fetched = changes.saml?.metadataUrl && !changes.saml.metadataXml && current.protocol === 'saml' ? await fetchIdpMetadata(ctx.config, changes.saml.metadataUrl) : undefined;
  const proposed = applyUpdate(current, changes, ctx.clock.now().toISOString(), fetched);
  let mapping: RoleMapping | undefined;
  if (input.mapping) {
    validateRoleMapping(input.mapping);
    mapping = { requiredPrefix: input.mapping.requiredPrefix?.trim() ?? null, defaultRole: input.mapping.defaultRole, rules: input.mapping.rules.map((r, i) => ({ id: `proposed_${i}`, group: r.group.trim(), role: r.role })) };
  }
  const people = await ctx.db.selectFrom('sso_logins').select((eb) => eb.fn.count<number>('user_id').distinct().as('n')).where('connection_id', '=', id).executeTakeFirst();
  return { checkedLogins: Number(people?.n ?? 0), warnings: await simulateRecentLogins(ctx.db, current, proposed, 200, mapping) };
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
  throw new PalisadeError(403, 'sso_required', `This organization requires single sign-on, so invitations are accepted by signing in at ${loginUrl}, not by setting a password.`, { details: { loginUrl, orgIds: [row.org_id], breakGlassAvailable: false } });
}
