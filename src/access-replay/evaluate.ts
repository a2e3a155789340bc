import type { Queryable, Role } from '../db/schema.js';
import { type SsoDomainCapture, ssoDomainCapture } from '../domains/capture.js';
import { type MappingResult, evaluateGroups } from '../orgs/role-mapping.js';
import { targetRole } from '../scim/lifecycle.js';
import { type MatchedUser, matchAccount } from '../sso/account-match.js';
import { type ConnectionRow, claimNames } from '../sso/connections.js';
import { SsoFailure } from '../sso/diagnosis.js';
import { type Identity, decideLogin, identityFrom } from '../sso/provision.js';
import { fingerprintOf } from '../sso/signing-certificate.js';
import type { SsoLoginsTable } from '../sso/tables.js';
import type { AccessWorld } from './world.js';

/**
 * Each member's ways in under one state of the world: every recent SSO sign-in replayed through
 * the same decision a real sign-in takes (`decideLogin`), plus password and break-glass sign-in,
 * plus the role each SCIM directory with group-driven roles would give them. Pure apart from two
 * kinds of lookups done in bulk: accounts a replayed email points at, and domain capture.
 */
export type PathOutcome = { ok: true; role: Role } | { ok: false; code: string; reason: string };

export interface ScimRole {
  directoryName: string;
  role: Role;
  groups: string[];
}

export interface SsoPath {
  connectionId: string;
  connectionName: string;
  lastLoginAt: string;
  outcome: PathOutcome;
}

/** Shared by everyone without a path of a kind (most people have no SCIM role, some no sign-in): never written to. */
const NONE: ReadonlyMap<string, never> = new Map<string, never>();

export interface PersonAccess {
  userId: string;
  email: string;
  role: Role;
  sso: ReadonlyMap<string, SsoPath>;
  password: boolean;
  breakGlass: boolean;
  /** Directory id → the role its groups would give. */
  scim: ReadonlyMap<string, ScimRole>;
}

/**
 * What the reading before a change hands to the reading after it: the certificates each connection
 * trusted (a sign-in recorded without its certificate is assumed to use one of them), and the stored
 * sign-ins already parsed (login records are never modified, so parsing each once is enough).
 */
export interface ReplayBaseline {
  certificates: Map<string, string[]>;
  parsed: Map<string, StoredSignIn>;
}

export const certificatesOf = (conn: Pick<ConnectionRow, 'saml_idp_certs'>): string[] =>
  (JSON.parse(conn.saml_idp_certs ?? '[]') as string[]).map(fingerprintOf);

export function replayBaseline(world: AccessWorld): ReplayBaseline {
  return {
    certificates: new Map([...world.connections.values()].map((c) => [c.id, certificatesOf(c)])),
    parsed: new Map(),
  };
}

const issuerOf = (subject: string) => subject.slice(0, Math.max(0, subject.indexOf('|'))).replace(/\/+$/, '');
const configuredIssuer = (conn: ConnectionRow) =>
  ((conn.protocol === 'saml' ? conn.saml_idp_entity_id : conn.oidc_issuer) ?? '').replace(/\/+$/, '');

export interface StoredSignIn {
  identity: Identity;
  raw: Record<string, unknown>;
}

interface Replayed {
  record: SsoLoginsTable;
  conn: ConnectionRow;
  identity: Identity;
}

/** The checks a stored sign-in meets before its claims are read: the connection, its issuer, its certificate. */
function precheck(
  world: AccessWorld,
  r: SsoLoginsTable,
  stored: StoredSignIn,
  baseline: ReplayBaseline,
  trustedOf: (conn: ConnectionRow) => string[],
): PathOutcome | ConnectionRow {
  const conn = world.connections.get(r.connection_id);
  if (!conn)
    return {
      ok: false,
      code: 'sso_connection_deleted',
      reason: 'the connection they signed in through would no longer exist',
    };
  if (conn.status !== 'active')
    return { ok: false, code: 'sso_connection_disabled', reason: `"${conn.name}" would be disabled` };
  const recorded = issuerOf(stored.identity.subject);
  if (recorded && recorded !== configuredIssuer(conn)) {
    return {
      ok: false,
      code: 'sso_issuer_changed',
      reason: `their identity provider (issuer ${recorded}) is not the one "${conn.name}" would expect (${configuredIssuer(conn) || 'none'}), so its responses would be refused`,
    };
  }
  if (conn.protocol === 'saml') {
    const trusted = trustedOf(conn);
    if (r.signing_cert_sha256) {
      if (!trusted.includes(r.signing_cert_sha256))
        return {
          ok: false,
          code: 'saml_certificate_removed',
          reason: `their last sign-in was signed with certificate ${r.signing_cert_sha256}, which "${conn.name}" would no longer trust`,
        };
    } else if (!trusted.some((fp) => (baseline.certificates.get(conn.id) ?? trusted).includes(fp))) {
      return {
        ok: false,
        code: 'saml_certificate_removed',
        reason: `none of the certificates "${conn.name}" would trust is one it trusted when they last signed in; keep the current certificate beside the new one until the identity provider has switched`,
      };
    }
  }
  return conn;
}

export async function evaluateAccess(
  db: Queryable,
  world: AccessWorld,
  baseline: ReplayBaseline,
): Promise<Map<string, PersonAccess>> {
  const people = new Map<string, PersonAccess>();
  for (const m of world.members.values()) {
    people.set(m.userId, {
      userId: m.userId,
      email: m.email,
      role: m.role,
      sso: NONE,
      password: m.hasPassword && !world.ssoRequired.has(m.userId),
      breakGlass: world.breakGlass.has(m.userId),
      scim: NONE,
    });
  }
  const byEmail = new Map<string, MatchedUser>(
    [...world.members.values()].map((m) => [m.email, { id: m.userId, email: m.email, status: m.userStatus }]),
  );
  const setPath = (r: SsoLoginsTable, conn: ConnectionRow | undefined, outcome: PathOutcome) => {
    const person = people.get(r.user_id);
    if (!person) return;
    const paths = person.sso === NONE ? new Map<string, SsoPath>() : (person.sso as Map<string, SsoPath>);
    paths.set(r.connection_id, {
      connectionId: r.connection_id,
      connectionName: conn?.name ?? r.connection_id,
      lastLoginAt: r.occurred_at,
      outcome,
    });
    person.sso = paths;
  };

  // First pass: what each stored sign-in would assert under this state's settings.
  const replayed: Replayed[] = [];
  const unknownEmails = new Set<string>();
  const trusted = new Map<string, string[]>();
  const trustedOf = (conn: ConnectionRow) => {
    let list = trusted.get(conn.id);
    if (!list) trusted.set(conn.id, (list = certificatesOf(conn)));
    return list;
  };
  const names = new Map<string, ReturnType<typeof claimNames>>();
  const namesOf = (conn: ConnectionRow) => {
    let n = names.get(conn.id);
    if (!n) names.set(conn.id, (n = claimNames(conn)));
    return n;
  };
  for (const r of world.logins) {
    let stored = baseline.parsed.get(r.id);
    if (!stored) baseline.parsed.set(r.id, (stored = JSON.parse(r.attributes) as StoredSignIn));
    const checked = precheck(world, r, stored, baseline, trustedOf);
    if ('ok' in checked) {
      setPath(r, world.connections.get(r.connection_id), checked);
      continue;
    }
    const conn = checked;
    try {
      const nameId = typeof stored.raw.nameID === 'string' ? stored.raw.nameID : undefined;
      const identity = identityFrom(stored.raw, namesOf(conn), stored.identity.subject, nameId);
      identity.stableSubject = stored.identity.stableSubject === true;
      if (!byEmail.has(identity.email)) unknownEmails.add(identity.email);
      replayed.push({ record: r, conn, identity });
    } catch (err) {
      const message =
        err instanceof SsoFailure
          ? `${err.publicMessage} (${err.diagnosis.check}: expected ${JSON.stringify(err.diagnosis.expected ?? null)})`
          : String(err);
      setPath(r, conn, {
        ok: false,
        code: err instanceof SsoFailure ? err.code : 'sso_replay_failed',
        reason: `with the connection's claim names, ${message}`,
      });
    }
  }
  // Accounts a changed email claim would point at, in chunks.
  const emails = [...unknownEmails];
  for (let i = 0; i < emails.length; i += 500) {
    for (const u of await db
      .selectFrom('users')
      .select(['id', 'email', 'status'])
      .where('email', 'in', emails.slice(i, i + 500))
      .execute())
      byEmail.set(u.email, u);
  }
  const captures = new Map<string, Promise<SsoDomainCapture | null>>();
  const captureOf = (email: string) => {
    const domain = email.slice(email.lastIndexOf('@') + 1);
    let c = captures.get(domain);
    if (!c) captures.set(domain, (c = ssoDomainCapture(db, world.orgId, `someone@${domain}`)));
    return c;
  };

  // Many people share the same groups: each distinct set is evaluated against the mapping once (read-only after).
  const mapped = new Map<string, MappingResult>();
  const mappingOf = (groups: string[]) => {
    const key = groups.join('\u0000');
    let result = mapped.get(key);
    if (!result) mapped.set(key, (result = evaluateGroups(world.mapping, groups)));
    return result;
  };

  // Second pass: the same decision a real sign-in takes.
  for (const { record: r, conn, identity } of replayed) {
    const linkedId = identity.stableSubject ? world.linkedUser.get(`${conn.id}|${identity.subject}`) : undefined;
    const member = linkedId ? world.members.get(linkedId) : undefined;
    const linked = member ? { id: member.userId, email: member.email, status: member.userStatus } : undefined;
    const found = byEmail.get(identity.email);
    const account = matchAccount(identity, {
      linked,
      byEmail: found,
      subjectOfByEmail: found ? world.linkedSubject.get(`${conn.id}|${found.id}`) : undefined,
    });
    const own = world.members.get(r.user_id);
    if (account.user?.id !== r.user_id) {
      const reason = account.user
        ? `their identity provider's answer would now name ${account.user.email}, so they would be signed in to that account instead of their own (${own?.email ?? r.email})`
        : `their identity provider's answer would now name ${identity.email}, which is no account: a new one would be created and their own (${own?.email ?? r.email}) no longer reached`;
      setPath(r, conn, { ok: false, code: 'sso_account_changes', reason });
      continue;
    }
    const membership = own ? { id: own.membershipId, role: own.role, status: 'active' as const } : undefined;
    const capture = account.emailChange || !membership ? await captureOf(identity.email) : null;
    const plan = decideLogin(conn, identity, {
      mapping: world.mapping,
      account,
      membership,
      memberElsewhere: world.memberElsewhere.has(r.user_id),
      capture,
      mappingResult: mappingOf(identity.groups),
    });
    setPath(
      r,
      conn,
      plan.allowed && plan.role
        ? { ok: true, role: plan.role }
        : {
            ok: false,
            code: plan.refusal?.code ?? 'sso_refused',
            reason: plan.refusal?.message ?? 'the sign-in would be refused',
          },
    );
  }

  // SCIM: the role a directory with group-driven roles would set at its next sync or apply-roles, decided
  // as syncMembership decides (no matching group and no default keeps the role; the last active primary
  // owner is never demoted, counted in apply-roles' order).
  const ownersLeft = new Map<string, number>();
  for (const s of world.scim) {
    const person = people.get(s.userId);
    if (!person) continue;
    const result = mappingOf(s.groups);
    const wanted = targetRole(result);
    let role: Role = person.role;
    if (result.source !== 'none' && person.role !== wanted) {
      if (person.role !== 'primary_owner') role = wanted;
      else {
        const left = ownersLeft.get(s.directoryId) ?? world.activeOwners;
        if (left - 1 >= 1) {
          role = wanted;
          ownersLeft.set(s.directoryId, left - 1);
        }
      }
    }
    const roles = person.scim === NONE ? new Map<string, ScimRole>() : (person.scim as Map<string, ScimRole>);
    roles.set(s.directoryId, { directoryName: s.directoryName, role, groups: s.groups });
    person.scim = roles;
  }
  return people;
}
