import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Queryable, Tx } from '../db/schema.js';
import { newId } from '../ids.js';
import { PalisadeError } from '../errors.js';
import { clientNetworkKey, consumeRateLimit } from '../http/rate-limit.js';
import { orgLineage } from '../orgs/store.js';
import { normalizeEmail } from '../users/email.js';
import { accountRouting } from './account-routing.js';
import { emailDomain } from './normalize.js';
import { CLAIMING, suffixesOf } from './store.js';

/**
 * How a person may sign in to an organization. Today every organization offers its local password;
 * SSO adds `{ type: 'sso', ... }` entries here (see loginMethodsForOrg) without changing callers.
 */
export const LoginMethod = Type.Object(
  {
    type: Type.String({ description: '`sso` (one per active connection, best first) or `password`' }),
    connectionId: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    protocol: Type.Optional(Type.String()),
    startUrl: Type.Optional(Type.String({ description: 'Where the browser goes to start single sign-on.' })),
  },
  { additionalProperties: false },
);
export type LoginMethod = Static<typeof LoginMethod>;

/**
 * The sign-in methods an organization offers, best first: its active SSO connections (with the URL
 * that starts each), then the password, unless SSO is enforced (then only owners' break-glass is left,
 * which the login page does not advertise).
 */
export async function loginMethodsForOrg(db: Queryable, orgId: string): Promise<LoginMethod[]> {
  const connections = await db
    .selectFrom('sso_connections')
    .select(['id', 'name', 'protocol'])
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .orderBy('id')
    .execute();
  const enforced = await db
    .selectFrom('sso_enforcement')
    .select('connection_id')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  const sso: LoginMethod[] = connections
    .sort((a, b) => Number(b.id === enforced?.connection_id) - Number(a.id === enforced?.connection_id))
    .map((c) => ({
      type: 'sso',
      connectionId: c.id,
      name: c.name,
      protocol: c.protocol,
      startUrl: `/sso/${c.id}/start`,
    }));
  return enforced ? sso : [...sso, { type: 'password' }];
}

export const DEFAULT_LOGIN_METHODS: LoginMethod[] = [{ type: 'password' }];

export interface Capture {
  orgId: string;
  orgName: string;
  domainId: string;
  domain: string;
  autoJoin: boolean;
}

/**
 * The organization that captures an email domain: a verified or failing (grace period) domain with
 * the same name, or a parent domain that opted in to its subdomains. The most specific name wins.
 * Expired and pending domains capture nothing.
 */
export async function captureForDomain(db: Queryable, name: string): Promise<Capture | undefined> {
  const names = suffixesOf(name);
  const rows = await db
    .selectFrom('domains')
    .innerJoin('organizations', 'organizations.id', 'domains.org_id')
    .select([
      'domains.id',
      'domains.name',
      'domains.include_subdomains',
      'domains.auto_join',
      'domains.org_id',
      'organizations.name as org_name',
    ])
    .where('domains.name', 'in', names)
    .where('domains.status', 'in', CLAIMING)
    .where('organizations.status', '=', 'active')
    .execute();
  const best = rows
    .filter((r) => r.name === name || Number(r.include_subdomains) === 1)
    .sort((a, b) => b.name.length - a.name.length)[0];
  return (
    best && {
      orgId: best.org_id,
      orgName: best.org_name,
      domainId: best.id,
      domain: best.name,
      autoJoin: Number(best.auto_join) === 1,
    }
  );
}

export async function captureForEmail(db: Queryable, email: string): Promise<Capture | undefined> {
  const d = emailDomain(email);
  return d ? captureForDomain(db, d) : undefined;
}

export const DiscoverView = Type.Object({
  email: Type.String(),
  organization: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  methods: Type.Array(LoginMethod),
});
export type DiscoverView = Static<typeof DiscoverView>;

/**
 * `GET /api/v1/login/discover`: where the login page sends this person. Unauthenticated and it
 * tells whether a domain is managed and uses SSO, so it is rate-limited per client network
 * (counted before the input is read: malformed probes count too).
 */
export async function discoverLogin(ctx: Ctx, rawEmail: string): Promise<DiscoverView> {
  await consumeRateLimit(
    ctx,
    {
      bucket: 'login_discover',
      key: clientNetworkKey(ctx.meta.ip),
      limit: ctx.config.discoverMaxRequestsPerIp,
      windowSeconds: ctx.config.discoverWindowSeconds,
    },
    { code: 'too_many_discovery_requests', message: 'Too many sign-in lookups from your network address.' },
  );
  const email = normalizeEmail(rawEmail);
  const capture = await captureForEmail(ctx.db, email);
  // An existing account goes where its organizations sign it in, whatever its domain's state: a lapsed
  // domain must not send people who sign in through SSO to a password they do not have.
  const account = await accountRouting(ctx.db, email);
  if (account) {
    const perOrg = await Promise.all(account.orgIds.map((id) => loginMethodsForOrg(ctx.db, id)));
    const organization =
      capture && account.orgIds.includes(capture.orgId) ? { id: capture.orgId, name: capture.orgName } : null;
    const seen = new Set<string>();
    // Unless the domain names the organization anyway, the connection's name is left out: it would tell
    // anyone which organization holds an address at an uncaptured domain.
    const sso = perOrg
      .flat()
      .filter((m) => m.type === 'sso' && m.connectionId && !seen.has(m.connectionId) && seen.add(m.connectionId))
      .map(({ name, ...m }) => (organization && name ? { ...m, name } : m));
    // Password sign-in only where every organization of theirs still offers it (none enforces SSO), and only with a password.
    const password = account.hasPassword && perOrg.every((methods) => methods.some((m) => m.type === 'password'));
    if (sso.length || password)
      return { email, organization, methods: [...sso, ...(password ? [{ type: 'password' }] : [])] };
  }
  if (!capture) return { email, organization: null, methods: DEFAULT_LOGIN_METHODS };
  return {
    email,
    organization: { id: capture.orgId, name: capture.orgName },
    methods: await loginMethodsForOrg(ctx.db, capture.orgId),
  };
}

/** One company is one tree: two organizations with the same top-level organization. */
export async function sameCompany(db: Queryable, a: string, b: string): Promise<boolean> {
  if (a === b) return true;
  const [la, lb] = await Promise.all([orgLineage(db, a), orgLineage(db, b)]);
  const root = (l: { id: string }[]) => l[l.length - 1]?.id;
  return root(la) !== undefined && root(la) === root(lb);
}

/**
 * Refuses a "personal" account at a captured domain: an email at a domain an organization verified
 * may only join organizations of that organization's tree (same top-level organization). `intoOrgId` null means a new
 * top-level organization. Messages point to "your organization's administrators" and never name the
 * capturing organization.
 */
export async function refuseCapturedEmail(
  db: Queryable,
  email: string,
  intoOrgId: string | null,
  who: 'self' | 'invitee',
): Promise<void> {
  const capture = await captureForEmail(db, email);
  if (!capture) return;
  // Any organization sharing the capturing organization's root may take them.
  if (intoOrgId !== null && (await sameCompany(db, intoOrgId, capture.orgId))) return;
  const domain = email.slice(email.lastIndexOf('@') + 1);
  if (who === 'self') {
    throw new PalisadeError(
      403,
      'email_domain_captured',
      `Your email address is at ${domain}, a domain managed by your organization in Palisade, so it cannot be used for a separate organization. Contact your organization's administrators to get access.`,
      { details: { domain } },
    );
  }
  throw new PalisadeError(
    403,
    'email_domain_captured',
    `${email} is at ${domain}, a domain managed by another organization in Palisade; people with addresses there join through their organization's administrators. Ask them to contact their organization's administrators, or invite a different address.`,
    { details: { domain } },
  );
}

/**
 * How domain capture bears on a single sign-on through a connection of `connOrgId`, for an email
 * the IdP asserted. An IdP speaks for its own organization only, so:
 * - `this_organization`: the connection's organization verified the domain. Its IdP provisions as
 *   usual; with the domain's auto-join on, people join even when the connection's JIT is off
 *   (exactly what auto-join does at password sign-in).
 * - `same_company`: another organization of the same tree verified it. Like an invitation from
 *   inside the company: provisioning into the connection's organization is allowed; auto-join into
 *   the capturing organization is not done through this IdP (it does not speak for that organization).
 * - `another_organization`: an organization outside the tree verified it. The IdP may not add
 *   anyone at that domain to its organization (that would let any tenant's IdP mint members at a
 *   domain someone else proved they own); people who were already members keep signing in.
 */
export type SsoDomainCapture = {
  domain: string;
  capturedBy: 'this_organization' | 'same_company' | 'another_organization';
  autoJoin: boolean;
  domainId: string | null;
};

export async function ssoDomainCapture(
  db: Queryable,
  connOrgId: string,
  email: string,
): Promise<SsoDomainCapture | null> {
  const capture = await captureForEmail(db, email);
  if (!capture) return null;
  if (capture.orgId === connOrgId)
    return {
      domain: capture.domain,
      capturedBy: 'this_organization',
      autoJoin: capture.autoJoin,
      domainId: capture.domainId,
    };
  // Another organization's domain id and settings are not this organization's business.
  if (await sameCompany(db, connOrgId, capture.orgId))
    return { domain: capture.domain, capturedBy: 'same_company', autoJoin: false, domainId: null };
  return { domain: capture.domain, capturedBy: 'another_organization', autoJoin: false, domainId: null };
}

/**
 * Auto-join: a person at a captured domain whose organization turned on `autoJoin` becomes a member
 * when they sign in, unless they already belong to it (or are invited). Called inside the sign-in
 * transaction; SSO's just-in-time provisioning calls it too. Returns the organization joined.
 */
export async function autoJoinCapturingOrg(
  tx: Tx,
  ctx: Pick<Ctx, 'clock' | 'caller' | 'meta'>,
  user: { id: string; email: string },
): Promise<string | undefined> {
  const capture = await captureForEmail(tx, user.email);
  if (!capture?.autoJoin) return undefined;
  const existing = await tx
    .selectFrom('memberships')
    .select('id')
    .where('org_id', '=', capture.orgId)
    .where('user_id', '=', user.id)
    .executeTakeFirst();
  if (existing) return undefined;
  const now = ctx.clock.now();
  const at = now.toISOString();
  const id = newId('mem', now);
  await tx
    .insertInto('memberships')
    .values({
      id,
      org_id: capture.orgId,
      user_id: user.id,
      role: 'member',
      status: 'active',
      invited_by: null,
      created_at: at,
      updated_at: at,
    })
    .execute();
  await recordAudit(tx, ctx, {
    orgId: capture.orgId,
    action: 'member.auto_joined',
    actor: { type: 'user', id: user.id, email: user.email, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent },
    targets: [
      { type: 'user', id: user.id, name: user.email },
      { type: 'membership', id },
      { type: 'domain', id: capture.domainId, name: capture.domain },
    ],
    metadata: { role: 'member', reason: `The email domain is verified by this organization with auto-join on.` },
  });
  return capture.orgId;
}
