import { recordAudit } from '../audit/record.js';
import { type NewSession, createSession } from '../auth/sessions.js';
import type { Ctx } from '../context.js';
import type { Membership, Queryable, Role, Tx, User } from '../db/schema.js';
import { newId } from '../ids.js';
import { type MappingResult, type RoleMapping, evaluateGroups, loadRoleMapping } from '../orgs/role-mapping.js';
import { type SsoDomainCapture, autoJoinCapturingOrg, ssoDomainCapture } from '../domains/capture.js';
import { testIdpRefusal } from './test-idp-policy.js';
import { normalizeEmail } from '../users/email.js';
import { findUserById } from '../users/store.js';
import { revokeAllCredentials } from '../auth/sessions.js';
import { type AccountMatch, applyEmailChange, linkIdentity, lookupAccount, matchAccount } from './account-match.js';
import type { ConnectionRow } from './connections.js';
import { fail } from './diagnosis.js';
import type { ClaimNames } from './presets.js';
import { releaseHeldCertificates } from './held-certificates.js';

/** What an IdP asserted about a person, after reading the connection's claim names. */
export interface Identity {
  subject: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  groups: string[];
  /**
   * The subject is the IdP's stable identifier for the person (OIDC `sub`; SAML NameID in the
   * persistent format), so the sign-in is matched on it before the email (./account-match.ts).
   */
  stableSubject?: boolean;
}

/**
 * A groups claim as a list. An array holds one group per value, kept whole ("Domain Admins"); a
 * single string is the list some OIDC providers send instead, split on commas when it has any, else
 * on whitespace ("a,b" or "a b" → a, b). SAML attributes arrive as arrays (saml.ts), so a group name
 * with a space in one AttributeValue stays one group.
 */
export function groupsFrom(value: unknown): string[] {
  if (typeof value === 'string')
    return (value.includes(',') ? value.split(',') : value.split(/\s+/)).map((g) => g.trim()).filter(Boolean);
  if (!Array.isArray(value)) return [];
  return value.filter((g): g is string => typeof g === 'string' && g.trim() !== '').map((g) => g.trim());
}

/** Reads an identity from OIDC claims or SAML attributes using the connection's claim names. */
export function identityFrom(
  raw: Record<string, unknown>,
  names: ClaimNames,
  subject: string,
  nameIdEmail?: string,
): Identity {
  const first = (v: unknown): string | null => {
    const x = Array.isArray(v) ? v[0] : v;
    return typeof x === 'string' && x.trim() ? x.trim() : null;
  };
  const emailRaw = first(raw[names.email]) ?? (nameIdEmail && nameIdEmail.includes('@') ? nameIdEmail : null);
  if (!emailRaw) {
    throw fail(
      'sso_email_missing',
      'Your identity provider did not send an email address for you.',
      'email claim present',
      { expected: names.email, received: Object.keys(raw).slice(0, 30) },
    );
  }
  let email: string;
  try {
    email = normalizeEmail(emailRaw);
  } catch {
    throw fail(
      'sso_email_invalid',
      'Your identity provider sent an email address Palisade cannot use.',
      'email claim is an address',
      { expected: 'name@example.com', received: emailRaw },
    );
  }
  // A SAML identity is read with its NameID: each AttributeValue is one group, never a list to split
  // (also for login records stored before SAML values were kept as arrays, replayed by the impact check).
  const groupsRaw = raw[names.groups];
  const groups =
    nameIdEmail !== undefined && typeof groupsRaw === 'string' ? groupsFrom([groupsRaw]) : groupsFrom(groupsRaw);
  return { subject, email, firstName: first(raw[names.firstName]), lastName: first(raw[names.lastName]), groups };
}

export interface LoginPlan {
  orgId: string;
  connectionId: string;
  email: string;
  user: { id: string | null; exists: boolean; status: User['status'] | null };
  /** How the account was found: by the IdP's stable subject, by email, or not at all (JIT creates it). */
  matchedBy: AccountMatch['matchedBy'];
  /** The IdP sends a new address for an account found by its stable subject: the account's email follows. */
  emailChange: AccountMatch['emailChange'];
  membership: { id: string | null; exists: boolean; currentRole: Role | null };
  /** The role the person ends with, or null when the login is refused. */
  role: Role | null;
  roleChange: { from: Role | null; to: Role } | null;
  mapping: MappingResult & { configured: boolean; requiredPrefix: string | null };
  /** Whether a verified domain captures the email, and by whom (src/domains/capture.ts `ssoDomainCapture`). */
  domainCapture: SsoDomainCapture | null;
  /** How a new membership is created: JIT, or the domain's auto-join (JIT off); null when the person is already a member. */
  joinVia: 'sso_jit' | 'domain_auto_join' | null;
  allowed: boolean;
  refusal: { code: string; message: string } | null;
  explanation: string[];
}

const mappingConfigured = (m: RoleMapping) => m.rules.length > 0 || m.defaultRole !== null;

/** Everything a login decision reads: looked up one by one for a real sign-in, in bulk by the lockout guard's replay. */
export interface LoginFacts {
  mapping: RoleMapping;
  account: AccountMatch;
  membership: Pick<Membership, 'id' | 'role' | 'status'> | undefined;
  /** The account also belongs to another organization. */
  memberElsewhere: boolean;
  /** Domain capture of the identity's email, as `ssoDomainCapture` answers it for the connection's organization. */
  capture: SsoDomainCapture | null;
  /** `evaluateGroups(mapping, identity.groups)` when the caller has it already (the replay shares it between people with the same groups). */
  mappingResult?: MappingResult;
}

export async function loadLoginFacts(
  db: Queryable,
  conn: ConnectionRow,
  identity: Identity,
  proposedMapping?: RoleMapping,
): Promise<LoginFacts> {
  const mapping = proposedMapping ?? (await loadRoleMapping(db, conn.org_id));
  const account = matchAccount(identity, await lookupAccount(db, conn, identity));
  const user = account.user;
  const membership = user
    ? await db
        .selectFrom('memberships')
        .select(['id', 'role', 'status'])
        .where('org_id', '=', conn.org_id)
        .where('user_id', '=', user.id)
        .executeTakeFirst()
    : undefined;
  const elsewhere = user
    ? await db
        .selectFrom('memberships')
        .select('org_id')
        .where('user_id', '=', user.id)
        .where('org_id', '!=', conn.org_id)
        .limit(1)
        .executeTakeFirst()
    : undefined;
  return {
    mapping,
    account,
    membership,
    memberElsewhere: !!elsewhere,
    capture: await ssoDomainCapture(db, conn.org_id, identity.email),
  };
}

/**
 * Decides what a login would do: pure reads, no writes, so the simulator and the real login share it.
 * Mapping never grants or removes primary owner; an unconfigured mapping keeps roles as they are
 * and makes new people members; a configured mapping that grants nothing refuses the login.
 */
export async function planLogin(
  db: Queryable,
  conn: ConnectionRow,
  identity: Identity,
  proposedMapping?: RoleMapping,
): Promise<LoginPlan> {
  return decideLogin(conn, identity, await loadLoginFacts(db, conn, identity, proposedMapping));
}

/** The decision itself, pure over the facts: the real sign-in, the simulator and the lockout guard's replay all come here. */
export function decideLogin(conn: ConnectionRow, identity: Identity, facts: LoginFacts): LoginPlan {
  const { mapping, account, membership } = facts;
  const user = account.user;
  const result = facts.mappingResult ?? evaluateGroups(mapping, identity.groups);
  const configured = mappingConfigured(mapping);
  const explanation: string[] = result.groups.map((g) => g.explanation);
  const plan: LoginPlan = {
    orgId: conn.org_id,
    connectionId: conn.id,
    email: identity.email,
    user: { id: user?.id ?? null, exists: !!user, status: user?.status ?? null },
    matchedBy: account.matchedBy,
    emailChange: account.emailChange,
    membership: { id: membership?.id ?? null, exists: !!membership, currentRole: membership?.role ?? null },
    role: null,
    roleChange: null,
    mapping: { ...result, configured, requiredPrefix: mapping.requiredPrefix },
    domainCapture: null,
    joinVia: null,
    allowed: false,
    refusal: null,
    explanation,
  };
  const refuse = (code: string, message: string) => {
    plan.refusal = { code, message };
    explanation.push(message);
    return plan;
  };
  if (conn.status !== 'active')
    return refuse('sso_connection_disabled', 'This SSO connection is disabled; an administrator must enable it.');
  if (account.conflict) return refuse(account.conflict.code, account.conflict.message);
  // An organization's IdP speaks only for that organization: it must not sign in an account that also
  // belongs elsewhere (that would let one tenant's IdP open another tenant's account). Verified email
  // domains would let this relax; until then such people use their own organization's sign-in.
  if (user && facts.memberElsewhere)
    return refuse(
      'sso_account_in_other_organization',
      `${user.email} also belongs to another organization, so this organization's identity provider cannot sign that account in.`,
    );
  if (user?.status === 'suspended') return refuse('sso_user_suspended', `${user.email} is suspended in Palisade.`);
  // Suspended by SCIM or by an admin: only whoever suspended them gives the access back, never a login (nor JIT).
  if (membership?.status === 'suspended')
    return refuse(
      'sso_membership_suspended',
      `${identity.email} is suspended in this organization (by SCIM provisioning or by an administrator, as the member list shows); whoever suspended them reactivates them.`,
    );
  // Domain capture, as at password sign-in: a verified domain decides who may add people at it.
  const capture = facts.capture;
  plan.domainCapture = capture;
  // The built-in test IdP signs any typed address: only this organization's verified domains (./test-idp-policy.ts).
  const testIdp = testIdpRefusal(conn, identity.email, capture);
  if (testIdp) return refuse(testIdp.code, testIdp.message);
  const emailDomain = identity.email.slice(identity.email.lastIndexOf('@') + 1);
  if (account.emailChange) {
    // Moving an account to an address at a domain another organization verified would hand that organization's address to this IdP's account.
    if (capture?.capturedBy === 'another_organization') {
      return refuse(
        'sso_email_domain_captured',
        `The identity provider now sends ${identity.email} for ${account.emailChange.from}, but ${emailDomain} is a domain another organization verified in Palisade, so the account cannot take that address. Correct the address at the identity provider.`,
      );
    }
    explanation.push(
      `The identity provider sends a new address for the same person (stable subject): the account ${account.emailChange.from} becomes ${account.emailChange.to}; no second account is created.`,
    );
  }
  if (!membership) {
    if (capture?.capturedBy === 'another_organization') {
      return refuse(
        'sso_email_domain_captured',
        `${identity.email} is at ${emailDomain}, a domain another organization verified in Palisade, so this organization's identity provider cannot add people at that domain. They join through their own organization's administrators.`,
      );
    }
    const autoJoin = capture?.capturedBy === 'this_organization' && capture.autoJoin;
    if (conn.jit_enabled !== 1 && !autoJoin)
      return refuse(
        'sso_not_a_member',
        `${identity.email} is not a member of this organization and the connection does not create accounts on first login (JIT is off).`,
      );
    plan.joinVia = conn.jit_enabled === 1 ? 'sso_jit' : 'domain_auto_join';
    if (capture?.capturedBy === 'this_organization') {
      explanation.push(
        plan.joinVia === 'sso_jit'
          ? `${capture.domain} is verified by this organization; ${identity.email} joins it on first sign-in (JIT).`
          : `JIT is off, but ${capture.domain} is verified by this organization with auto-join on, so ${identity.email} joins it as they sign in.`,
      );
    } else if (capture?.capturedBy === 'same_company') {
      explanation.push(
        `${capture.domain} is verified by another organization of the same company; like an invitation, ${identity.email} may join this organization.`,
      );
    }
  } else if (capture?.capturedBy === 'another_organization') {
    explanation.push(
      `${emailDomain} is verified by another organization; ${identity.email} was already a member here, so the sign-in continues (no new members are added at that domain).`,
    );
  }

  let role: Role | null;
  if (membership?.role === 'primary_owner') {
    role = 'primary_owner';
    explanation.push('Primary owners keep their role; group mapping never changes it.');
  } else if (result.role) {
    role = result.role;
    explanation.push(
      result.source === 'rule'
        ? `Groups grant ${role} (highest matched rule).`
        : `No group matched a rule; the default role ${role} applies.`,
    );
  } else if (!configured) {
    role = membership?.role ?? 'member';
    explanation.push(
      membership
        ? `No group-to-role mapping is configured; the current role ${role} is kept.`
        : 'No group-to-role mapping is configured; new people join as member.',
    );
  } else {
    // The IdP is the source of truth once a mapping exists: losing every mapped group ends access.
    return refuse(
      'sso_no_role',
      `None of the groups sent for ${identity.email} grants a role in this organization, and there is no default role.`,
    );
  }
  plan.role = role;
  plan.allowed = true;
  if (!membership || membership.role !== role) plan.roleChange = { from: membership?.role ?? null, to: role };
  return plan;
}

export interface CompletedLogin {
  session: NewSession;
  user: User;
  plan: LoginPlan;
}

/**
 * Applies a login plan: JIT user and membership, an email changed at the IdP, role change, the link
 * to the IdP's stable subject, the login record, a session. All audited in one transaction.
 * `signingCertSha256`: the configured certificate that verified a SAML sign-in (kept with the login
 * record for the lockout guard; a first sign-in with a new certificate releases held ones).
 */
export async function completeLogin(
  ctx: Ctx,
  conn: ConnectionRow,
  identity: Identity,
  raw: Record<string, unknown>,
  purpose: 'login' | 'test',
  initiatedBy: string | null,
  signingCertSha256: string | null = null,
): Promise<CompletedLogin> {
  return ctx.db.transaction().execute(async (tx) => {
    const plan = await planLogin(tx, conn, identity);
    if (!plan.allowed || !plan.role) {
      const r = plan.refusal ?? { code: 'sso_refused', message: 'Sign-in refused.' };
      throw fail(r.code, plainRefusal(r.code), 'access decision', {
        detail: r.message,
        received: { groups: identity.groups, mapping: plan.mapping.groups },
      });
    }
    const now = ctx.clock.now();
    const at = now.toISOString();
    let { user, created } = await ensureUser(tx, ctx, conn, identity, plan, now, plan.joinVia ?? 'sso_jit');
    if (plan.emailChange) {
      user = await applyEmailChange(tx, ctx, conn, user, plan.emailChange, now);
      // A new address is proven only if this IdP's company vouches for it (below).
      if (user.email_verified_at) {
        await tx.updateTable('users').set({ email_verified_at: null }).where('id', '=', user.id).execute();
        user.email_verified_at = null;
      }
    }
    await linkIdentity(tx, conn, identity, user.id, now);
    // The IdP of the company that verified the address's domain vouches for the address.
    if (
      !user.email_verified_at &&
      (plan.domainCapture?.capturedBy === 'this_organization' || plan.domainCapture?.capturedBy === 'same_company')
    ) {
      await tx.updateTable('users').set({ email_verified_at: at }).where('id', '=', user.id).execute();
      user.email_verified_at = at;
    }
    const actor = {
      type: 'user' as const,
      id: user.id,
      email: user.email,
      ip: ctx.meta.ip,
      userAgent: ctx.meta.userAgent,
    };
    let membership = await tx
      .selectFrom('memberships')
      .selectAll()
      .where('org_id', '=', conn.org_id)
      .where('user_id', '=', user.id)
      .executeTakeFirst();
    if (!membership && !created) await endPriorCredentials(tx, ctx, conn, user, now);
    if (!membership && plan.joinVia === 'domain_auto_join') {
      // The same hook password sign-in uses (member.auto_joined, with the domain as target); the
      // plan allows it only for this organization's own domain, so it must join this organization.
      const joined = await autoJoinCapturingOrg(tx, ctx, user);
      membership = await tx
        .selectFrom('memberships')
        .selectAll()
        .where('org_id', '=', conn.org_id)
        .where('user_id', '=', user.id)
        .executeTakeFirst();
      if (joined !== conn.org_id || !membership)
        throw fail('sso_not_a_member', plainRefusal('sso_not_a_member'), 'access decision', {
          detail: 'The domain capture changed during sign-in; try again.',
        });
    }
    if (!membership) {
      const m: Membership = {
        id: newId('mem', now),
        org_id: conn.org_id,
        user_id: user.id,
        role: plan.role,
        status: 'active',
        invited_by: null,
        created_at: at,
        updated_at: at,
        suspended_at: null,
        suspended_by_directory_id: null,
        suspended_by_user_id: null,
      };
      await tx.insertInto('memberships').values(m).execute();
      membership = m;
      await recordAudit(tx, ctx, {
        orgId: conn.org_id,
        action: 'member.joined',
        actor,
        targets: [
          { type: 'membership', id: m.id },
          { type: 'sso_connection', id: conn.id },
          ...(plan.domainCapture?.domainId
            ? [{ type: 'domain', id: plan.domainCapture.domainId, name: plan.domainCapture.domain }]
            : []),
        ],
        metadata: {
          via: 'sso_jit',
          role: plan.role,
          groups: identity.groups.slice(0, 50),
          ...(plan.domainCapture ? { emailDomainCapturedBy: plan.domainCapture.capturedBy } : {}),
        },
      });
    } else {
      if (membership.status === 'invited') {
        await tx
          .updateTable('memberships')
          .set({ status: 'active', updated_at: at })
          .where('id', '=', membership.id)
          .execute();
        await recordAudit(tx, ctx, {
          orgId: conn.org_id,
          action: 'member.joined',
          actor,
          targets: [{ type: 'membership', id: membership.id }],
          metadata: { via: 'sso' },
        });
      }
      if (membership.role !== plan.role) {
        await tx
          .updateTable('memberships')
          .set({ role: plan.role, updated_at: at })
          .where('id', '=', membership.id)
          .execute();
        await recordAudit(tx, ctx, {
          orgId: conn.org_id,
          action: 'member.role_changed',
          actor,
          targets: [
            { type: 'user', id: user.id, name: user.email },
            { type: 'membership', id: membership.id },
            { type: 'sso_connection', id: conn.id },
          ],
          metadata: {
            from: membership.role,
            to: plan.role,
            via: 'sso_group_mapping',
            groups: identity.groups.slice(0, 50),
          },
        });
      }
    }
    await tx
      .insertInto('sso_logins')
      .values({
        id: newId('ssl', now),
        connection_id: conn.id,
        org_id: conn.org_id,
        user_id: user.id,
        email: identity.email,
        attributes: JSON.stringify({ identity, raw: rawForRecord(raw) }),
        role: plan.role,
        purpose,
        occurred_at: at,
        signing_cert_sha256: signingCertSha256,
      })
      .execute();
    if (signingCertSha256) await releaseHeldCertificates(tx, ctx, conn.id, signingCertSha256);
    // A test login by an admin is what lets the organization turn enforcement on.
    if (purpose === 'test' && initiatedBy === user.id && (plan.role === 'admin' || plan.role === 'primary_owner')) {
      await tx
        .updateTable('sso_connections')
        .set({ last_test_login_at: at, last_test_login_by: user.id })
        .where('id', '=', conn.id)
        .execute();
    }
    const session = await createSession(tx, ctx, user.id, 'sso');
    await recordAudit(tx, ctx, {
      orgId: conn.org_id,
      action: purpose === 'test' ? 'sso.test_login_succeeded' : 'auth.login_succeeded',
      actor,
      targets: [
        { type: 'session', id: session.sessionId },
        { type: 'sso_connection', id: conn.id },
      ],
      metadata: {
        method: `sso_${conn.protocol}`,
        role: plan.role,
        roleChanged: plan.roleChange !== null,
        ...(plan.emailChange ? { emailChanged: plan.emailChange } : {}),
      },
    });
    return { session, user, plan };
  });
}

/**
 * An account that existed before this identity provider vouched for its address may carry a
 * password, sessions or API tokens that someone else set up: another organization's invitation
 * link is held by the admin who sent it, who can redeem it, then remove the membership and wait
 * (account pre-hijacking). As the account joins an organization through its IdP, those end.
 */
async function endPriorCredentials(tx: Tx, ctx: Ctx, conn: ConnectionRow, user: User, now: Date): Promise<void> {
  const passwordCleared = user.password_hash !== null;
  if (passwordCleared)
    await tx
      .updateTable('users')
      .set({ password_hash: null, updated_at: now.toISOString() })
      .where('id', '=', user.id)
      .execute();
  const revoked = await revokeAllCredentials(tx, now, user.id);
  if (!passwordCleared && !revoked.sessions && !revoked.tokens && !revoked.gatewayKeys) return;
  user.password_hash = null;
  await recordAudit(tx, ctx, {
    orgId: conn.org_id,
    action: 'user.credentials_reset',
    targets: [
      { type: 'user', id: user.id, name: user.email },
      { type: 'sso_connection', id: conn.id },
    ],
    metadata: {
      reason: 'joined_through_identity_provider',
      passwordCleared,
      sessionsRevoked: revoked.sessions,
      apiTokensRevoked: revoked.tokens,
      gatewayKeysRevoked: revoked.gatewayKeys,
    },
  });
}

async function ensureUser(
  tx: Tx,
  ctx: Ctx,
  conn: ConnectionRow,
  identity: Identity,
  plan: LoginPlan,
  now: Date,
  via: 'sso_jit' | 'domain_auto_join',
): Promise<{ user: User; created: boolean }> {
  const existing = plan.user.id ? await findUserById(tx, plan.user.id) : undefined;
  if (existing) return { user: existing, created: false };
  const at = now.toISOString();
  const display = [identity.firstName, identity.lastName].filter(Boolean).join(' ') || null;
  const user: User = {
    id: newId('usr', now),
    email: identity.email,
    display_name: display,
    password_hash: null,
    status: 'active',
    created_at: at,
    updated_at: at,
    email_verified_at: null,
    password_changed_at: null,
  };
  await tx.insertInto('users').values(user).execute();
  await recordAudit(tx, ctx, {
    orgId: conn.org_id,
    action: 'user.created',
    targets: [
      { type: 'user', id: user.id, name: user.email },
      { type: 'sso_connection', id: conn.id },
    ],
    metadata: { via: via === 'sso_jit' ? 'sso_jit' : 'sso_domain_auto_join' },
  });
  return { user, created: true };
}

export function plainRefusal(code: string): string {
  switch (code) {
    case 'sso_no_role':
      return 'Your identity provider signed you in, but none of your groups gives you access to this organization.';
    case 'sso_not_a_member':
      return 'Your identity provider signed you in, but you are not a member of this organization yet.';
    case 'sso_user_suspended':
      return 'Your Palisade account is suspended.';
    case 'sso_membership_suspended':
      return 'Your access to this organization is suspended (by your identity provider or by an administrator). Ask your administrator to reactivate you.';
    case 'sso_connection_disabled':
      return 'This sign-in method is turned off.';
    case 'sso_email_domain_captured':
      return "Your email address is at a domain managed by another organization in Palisade, so this identity provider cannot give you access. Contact your organization's administrators.";
    case 'sso_email_in_use':
      return 'Your identity provider now sends an email address that another Palisade account already uses, so you were not signed in. Ask your administrator to resolve it.';
    case 'sso_subject_mismatch':
      return 'This email address belongs to a Palisade account linked to a different person at your identity provider, so you were not signed in. Ask your administrator.';
    case 'sso_test_idp_domain_unverified':
      return "Palisade's built-in test identity provider signs in only addresses at domains this organization verified. Use an address at one of them.";
    case 'sso_account_in_other_organization':
      return "Your Palisade account also belongs to another organization, so it cannot be signed in through this organization's identity provider. Sign in with your usual method.";
    default:
      return 'Sign-in was refused.';
  }
}

/** The claims kept with a login record so a later connection change can be simulated against them. */
function rawForRecord(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw).slice(0, 50)) {
    if (typeof v === 'string') out[k] = v.slice(0, 500);
    else if (Array.isArray(v)) out[k] = v.filter((x) => typeof x === 'string').slice(0, 200);
  }
  return out;
}
