import type { AuditTarget } from '../audit/event.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Queryable, Role, Tx } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { ROLE_RANK } from '../orgs/permissions.js';
import type { PersonAccess, ReplayBaseline } from '../access-replay/evaluate.js';
import type { AccessWorld } from '../access-replay/world.js';

/**
 * The lockout guard: one check for every change that can alter who signs in to an organization or
 * with which role (connection settings, claim names, certificates by hand or by metadata refresh,
 * the role mapping and its prefix, domain state, enforcement itself, deleting a connection).
 *
 * It reads each member's ways in before the change, applies the change inside the change's own
 * transaction, reads them again and compares. Only what the change itself takes away counts: a
 * sign-in that already fails before the change is reported as pre-existing and blocks nothing, and
 * someone who loses one way in but keeps another (a password where SSO is not enforced) is reported
 * as degraded. Whoever would lose every way in, or a role, is a warning: the change is refused with
 * the list unless acknowledged, and an acknowledged change is audited with the people it affects.
 */
export type GuardedChange =
  'sso_connection' | 'sso_connection_deleted' | 'sso_enforcement' | 'sso_certificates' | 'role_mapping' | 'domain';

export interface LockoutWarning {
  userId: string;
  email: string;
  /** Which way in the change affects: a connection's sign-in, a SCIM directory's roles, or the password. */
  source: 'sso' | 'scim' | 'password';
  connectionId: string | null;
  directoryId: string | null;
  /** would_fail: no way in would be left; would_lose_role: a lower role (at the next sign-in or SCIM sync). */
  problem: 'would_fail' | 'would_lose_role';
  before: Role | null;
  after: Role | null;
  lastLoginAt: string | null;
  explanation: string;
}

/** Reported, never blocking: a way in that fails already (pre-existing), or one lost while another remains (degraded). */
export interface LockoutNote {
  userId: string;
  email: string;
  connectionId: string | null;
  lastLoginAt: string | null;
  code: string;
  explanation: string;
}

export interface LockoutImpact {
  checked: { members: number; ssoSignIns: number; scimPeople: number };
  warnings: LockoutWarning[];
  degraded: LockoutNote[];
  preExisting: LockoutNote[];
}

const rank = (r: Role | null) => (r ? ROLE_RANK[r] : 0);
/** Whether someone has at least one working way in. */
const canSignIn = (p: PersonAccess) => p.password || p.breakGlass || [...p.sso.values()].some((s) => s.outcome.ok);
const MAX_LISTED = 1000;

function remainingWays(p: PersonAccess): string {
  const ways = [...p.sso.values()]
    .filter((s) => s.outcome.ok)
    .map((s) => `single sign-on through "${s.connectionName}"`);
  if (p.password) ways.push('their password');
  if (p.breakGlass) ways.push('break-glass');
  return ways.join(', ');
}

/** Compares each person's ways in before and after a change: only what the change takes away is a warning. */
export function compareAccess(
  before: Map<string, PersonAccess>,
  after: Map<string, PersonAccess>,
  ssoSignIns: number,
  scimPeople: number,
): LockoutImpact {
  const impact: LockoutImpact = {
    checked: { members: before.size, ssoSignIns, scimPeople },
    warnings: [],
    degraded: [],
    preExisting: [],
  };
  for (const b of before.values()) {
    const a = after.get(b.userId);
    if (!a) continue; // no longer a member: not something a sign-in change does
    const base = { userId: b.userId, email: b.email };
    const stillIn = canSignIn(a);
    const lost: string[] = [];
    let lostFrom: { connectionId: string | null; lastLoginAt: string | null } = {
      connectionId: null,
      lastLoginAt: null,
    };
    for (const pb of b.sso.values()) {
      const pa = a.sso.get(pb.connectionId)?.outcome ?? {
        ok: false as const,
        code: 'sso_connection_deleted',
        reason: 'the connection they signed in through would no longer exist',
      };
      const at = { connectionId: pb.connectionId, lastLoginAt: pb.lastLoginAt };
      if (!pb.outcome.ok) {
        // Failing already: reported, never blocking. A change that repairs it must not hand back less than the role they hold.
        if (!pa.ok)
          impact.preExisting.push({
            ...base,
            ...at,
            code: pb.outcome.code,
            explanation: `Already before this change, their last sign-in through "${pb.connectionName}" (${pb.lastLoginAt}) would be refused: ${pb.outcome.reason.replace(/\.+$/, '')}.`,
          });
        else if (rank(pa.role) < rank(b.role)) {
          impact.warnings.push({
            ...base,
            source: 'sso',
            ...at,
            directoryId: null,
            problem: 'would_lose_role',
            before: b.role,
            after: pa.role,
            explanation: `Their sign-in through "${pb.connectionName}" fails today; after this change it would work again, but as ${pa.role} instead of their current ${b.role}.`,
          });
        }
        continue;
      }
      if (!pa.ok) {
        if (stillIn)
          impact.degraded.push({
            ...base,
            ...at,
            code: pa.code,
            explanation: `Single sign-on through "${pb.connectionName}" would fail (${pa.reason}); they can still sign in with ${remainingWays(a)}.`,
          });
        else {
          lost.push(`through "${pb.connectionName}", ${pa.reason.replace(/\.+$/, '')}`);
          if (!lostFrom.connectionId) lostFrom = at;
        }
      } else if (rank(pa.role) < rank(pb.outcome.role)) {
        impact.warnings.push({
          ...base,
          source: 'sso',
          ...at,
          directoryId: null,
          problem: 'would_lose_role',
          before: pb.outcome.role,
          after: pa.role,
          explanation: `At their next sign-in through "${pb.connectionName}" they would drop from ${pb.outcome.role} to ${pa.role}.`,
        });
      }
    }
    if (b.password && !a.password && !stillIn)
      lost.push(
        'password sign-in would no longer be allowed (single sign-on would be required) and they have no working single sign-on',
      );
    if (canSignIn(b) && !stillIn) {
      impact.warnings.push({
        ...base,
        source: lostFrom.connectionId ? 'sso' : 'password',
        ...lostFrom,
        directoryId: null,
        problem: 'would_fail',
        before: b.role,
        after: null,
        explanation: `They could no longer sign in: ${lost.length ? lost.join('; ') : 'no way in would be left'}.`,
      });
    }
    for (const [dirId, sb] of b.scim) {
      const sa = a.scim.get(dirId);
      if (sa && rank(sa.role) < rank(sb.role)) {
        impact.warnings.push({
          ...base,
          source: 'scim',
          connectionId: null,
          directoryId: dirId,
          problem: 'would_lose_role',
          before: sb.role,
          after: sa.role,
          lastLoginAt: null,
          explanation: `Their groups in the SCIM directory "${sb.directoryName}" (${sb.groups.slice(0, 10).join(', ') || 'none'}) would give ${sa.role} instead of ${sb.role}, applied at the next SCIM sync or apply-roles.`,
        });
      }
    }
  }
  impact.warnings = impact.warnings.slice(0, MAX_LISTED);
  impact.degraded = impact.degraded.slice(0, MAX_LISTED);
  impact.preExisting = impact.preExisting.slice(0, MAX_LISTED);
  return impact;
}

/**
 * Each member's ways in to an organization now. Reading them replays recent sign-ins through sso/,
 * scim/ and domains/ (src/access-replay/), the very folders whose changes pass this guard: that
 * reader sits above them and registers itself here when loaded (app.ts and scheduled-jobs.ts load
 * it), so the guard they call does not import them back.
 */
export type AccessReader = (
  db: Queryable,
  orgId: string,
  now: Date,
  baseline?: ReplayBaseline & { logins: AccessWorld['logins'] },
) => Promise<{ world: AccessWorld; baseline: ReplayBaseline; people: Map<string, PersonAccess> }>;

let reader: AccessReader | undefined;

export function registerAccessReader(read: AccessReader): void {
  reader = read;
}

const accessNow: AccessReader = (db, orgId, now, baseline) => {
  if (!reader)
    throw new Error('The lockout guard has no access reader: import src/access-replay/reader.ts (app.ts does).');
  return reader(db, orgId, now, baseline);
};

/** Applies `apply` in `tx` between two readings of the organization's access, and compares them. Throws nothing of its own. */
export async function replayChange<T>(
  tx: Tx,
  ctx: Pick<Ctx, 'clock'>,
  orgId: string,
  apply: () => Promise<T>,
): Promise<{ result: T; impact: LockoutImpact }> {
  const now = ctx.clock.now();
  const before = await accessNow(tx, orgId, now);
  const result = await apply();
  const after = await accessNow(tx, orgId, now, { ...before.baseline, logins: before.world.logins });
  return {
    result,
    impact: compareAccess(before.people, after.people, before.world.logins.length, before.world.scim.length),
  };
}

class Rollback extends Error {
  constructor(readonly impact: LockoutImpact) {
    super('rolled back after the lockout preview');
  }
}

/** What a change would do, without doing it: applied and measured in a transaction that is then rolled back. */
export async function previewChange(
  ctx: Pick<Ctx, 'db' | 'clock'>,
  orgId: string,
  apply: (tx: Tx) => Promise<unknown>,
): Promise<LockoutImpact> {
  try {
    await ctx.db.transaction().execute(async (tx) => {
      const { impact } = await replayChange(tx, ctx, orgId, () => apply(tx));
      throw new Rollback(impact);
    });
  } catch (err) {
    if (err instanceof Rollback) return err.impact;
    throw err;
  }
  throw new Error('unreachable: the preview transaction always rolls back');
}

function describe(w: LockoutWarning): string {
  return w.problem === 'would_fail'
    ? `${w.email} could no longer sign in`
    : `${w.email} would drop from ${w.before} to ${w.after}${w.source === 'scim' ? ' (SCIM)' : ''}`;
}

export function lockoutRefusal(impact: LockoutImpact, change: GuardedChange): PalisadeError {
  const n = new Set(impact.warnings.map((w) => w.userId)).size;
  const shown = impact.warnings.slice(0, 5).map(describe).join('; ');
  const more = impact.warnings.length > 5 ? `; and ${impact.warnings.length - 5} more (see details.warnings)` : '';
  return new PalisadeError(
    409,
    'sso_change_would_lock_out',
    `This change would take sign-in access or a role away from ${n} ${n === 1 ? 'person' : 'people'}: ${shown}${more}. Fix the change, or repeat it with "acknowledgeWarnings": true (CLI: --acknowledge-warnings) to apply it anyway.`,
    {
      details: {
        change,
        warnings: impact.warnings,
        degraded: impact.degraded,
        preExisting: impact.preExisting,
        checked: impact.checked,
      },
    },
  );
}

export interface GuardOptions {
  orgId: string;
  change: GuardedChange;
  target: AuditTarget;
  acknowledge?: boolean;
}

/**
 * The guard around a change made in `tx`: refuses (409, nothing applied) when it would take access
 * or a role away from anyone and is not acknowledged; audits an acknowledged one with who it affects.
 */
export async function guardChange<T>(
  tx: Tx,
  ctx: Ctx,
  opts: GuardOptions,
  apply: () => Promise<T>,
): Promise<{ result: T; impact: LockoutImpact }> {
  const out = await replayChange(tx, ctx, opts.orgId, apply);
  if (out.impact.warnings.length) {
    if (!opts.acknowledge) throw lockoutRefusal(out.impact, opts.change);
    await recordLockoutWarnings(tx, ctx, opts, out.impact, 'lockout_warning.acknowledged');
  }
  return out;
}

/** Writes who a change affected, for an acknowledged change or one a job had to apply (a domain whose DNS proof lapsed). */
export async function recordLockoutWarnings(
  tx: Tx,
  ctx: Ctx,
  opts: Pick<GuardOptions, 'orgId' | 'change' | 'target'>,
  impact: LockoutImpact,
  action: 'lockout_warning.acknowledged' | 'lockout_warning.recorded',
): Promise<void> {
  await recordAudit(tx, ctx, {
    orgId: opts.orgId,
    action,
    outcome: action === 'lockout_warning.acknowledged' ? 'success' : 'failure',
    targets: [opts.target, ...impact.warnings.slice(0, 50).map((w) => ({ type: 'user', id: w.userId, name: w.email }))],
    metadata: {
      change: opts.change,
      warnings: impact.warnings.length,
      people: impact.warnings
        .slice(0, 50)
        .map((w) => ({ email: w.email, problem: w.problem, source: w.source, before: w.before, after: w.after })),
      preExisting: impact.preExisting.length,
      degraded: impact.degraded.length,
    },
  });
}
