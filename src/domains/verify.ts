import { parse as parseDomain } from 'tldts';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Tx } from '../db/schema.js';
import { notFound } from '../errors.js';
import { consumeRateLimit } from '../http/rate-limit.js';
import { newId } from '../ids.js';
import type { AuditTarget } from '../audit/event.js';
import { recordLockoutWarnings, replayChange } from '../lockout/guard.js';
import { authorize } from '../orgs/authorize.js';
import { type Diagnosis, type Misplacement, type MisplacedValue, diagnose, judge } from './diagnosis.js';
import { type DnsClient, dnsClient, lookupTxt, txtValuesAt } from './dns-check.js';
import { claimConflict, isUniqueViolation } from './domains.js';
import { findDomain, lockDomain, overlappingClaims, tokenOwner } from './store.js';
import type { Domain, DomainNotificationsTable } from './tables.js';
import { type DomainView, domainView, recordNameFor } from './views.js';

const DAY_MS = 24 * 3600 * 1000;

/** The names where a verification value is commonly published by mistake, for the near-miss hints. */
export function misplacedNames(prefix: string, domain: string): { name: string; kind: Misplacement }[] {
  const out: { name: string; kind: Misplacement }[] = [{ name: domain, kind: 'apex' }];
  if (prefix.startsWith('_')) out.push({ name: `${prefix.slice(1)}.${domain}`, kind: 'missing_underscore' });
  const swapped = prefix.replace(/[-_]/g, (c, i: number) => (i === 0 ? c : c === '-' ? '_' : '-'));
  if (swapped !== prefix) out.push({ name: `${swapped}.${domain}`, kind: 'prefix_variant' });
  out.push({ name: `${prefix}.${domain}.${domain}`, kind: 'doubled_zone' });
  const registrable = parseDomain(domain, { allowPrivateDomains: true }).domain;
  if (registrable && registrable !== domain)
    out.push({ name: `${prefix}.${domain.slice(domain.indexOf('.') + 1)}`, kind: 'parent_domain' });
  return out;
}

/** Which of the usual wrong places hold the expected value (exactly, or with a formatting slip). */
async function findElsewhere(
  client: DnsClient,
  prefix: string,
  domain: string,
  expected: string,
): Promise<MisplacedValue[]> {
  const places = misplacedNames(prefix, domain);
  const found = await Promise.all(
    places.map(async (p) => {
      for (const strings of await txtValuesAt(client, p.name)) {
        const j = await judge(strings, expected, domain, async () => undefined);
        if (j.match || j.found.nearMiss.length) return { name: p.name, kind: p.kind, nearMiss: j.found.nearMiss };
      }
      return undefined;
    }),
  );
  return found.filter((f): f is MisplacedValue => f !== undefined);
}

/**
 * Asks the DNS now and explains the answer. No database writes. `fast` (the scheduled job) skips the
 * CNAME query when the value matches exactly; a manual check always reports an alias.
 */
export async function checkDns(
  ctx: Pick<Ctx, 'db' | 'clock' | 'config'>,
  d: Pick<Domain, 'id' | 'org_id' | 'name' | 'token'>,
  opts: { fast?: boolean } = {},
): Promise<Diagnosis> {
  const recordName = recordNameFor(ctx.config, d.name);
  const client = dnsClient(ctx.config);
  const lookup = await lookupTxt(client, recordName, opts.fast ? d.token : undefined, d.name);
  return diagnose({
    domain: d.name,
    recordName,
    expected: d.token,
    lookup,
    owners: (value) => tokenOwner(ctx.db, d.org_id, d.id, value),
    checkedAt: ctx.clock.now().toISOString(),
    elsewhere: () => findElsewhere(client, ctx.config.domainRecordPrefix, d.name, d.token),
  });
}

/**
 * What is stored as the last diagnosis. A DNS-side failure says nothing about the record, so the
 * last real verdict is kept beside it (carried over a run of failures) instead of being replaced.
 */
export function storedDiagnosis(previousJson: string | null, g: Diagnosis): Diagnosis {
  if (!g.dnsSide) return g;
  const previous = previousJson ? (JSON.parse(previousJson) as Diagnosis) : null;
  const lastVerdict = previous
    ? previous.dnsSide
      ? (previous.lastVerdict ?? null)
      : { ...previous, lastVerdict: undefined }
    : null;
  return { ...g, lastVerdict };
}

export type Transition = 'verified' | 'failing' | 'expired' | 'recovered' | 'unchanged' | 'conflict';

async function notify(
  tx: Tx,
  ctx: Ctx,
  d: Domain,
  event: DomainNotificationsTable['event'],
  diagnosis: Diagnosis,
  extra: Record<string, unknown>,
): Promise<void> {
  const now = ctx.clock.now();
  const id = newId('dnt', now);
  // Shaped as the body a webhook would POST, so a delivery worker can send it unchanged.
  const payload = {
    id,
    type: event,
    occurredAt: now.toISOString(),
    organization: { id: d.org_id },
    domain: { id: d.id, name: d.name, ...extra },
    diagnosis,
  };
  await tx
    .insertInto('domain_notifications')
    .values({
      id,
      org_id: d.org_id,
      domain_id: d.id,
      domain_name: d.name,
      event,
      payload: JSON.stringify(payload),
      created_at: now.toISOString(),
      delivered_at: null,
    })
    .execute();
}

/** Short public summary of what DNS held, for audit metadata (the published values are public DNS data). */
const foundSummary = (g: Diagnosis) =>
  g.found.slice(0, 5).map((f) => ({ value: f.value.slice(0, 120), nearMiss: f.nearMiss }));

/**
 * Applies one check result to a domain: the state machine
 *   pending|expired --ok--> verified
 *   verified --fail--> failing (grace period starts) --ok--> verified (recovered)
 *   failing --fail, grace over--> expired (capture stops)
 * Each transition writes an audit event and a notification in the same transaction. Idempotent: the
 * row is locked and re-read, so a repeated or concurrent check sees the state the other one left.
 */
export async function applyCheck(
  ctx: Ctx,
  orgId: string,
  domainId: string,
  g: Diagnosis,
  source: 'manual' | 'job',
): Promise<{ domain: Domain; transition: Transition }> {
  if (g.ok) {
    // The daily common case, a verified domain still verified, is one conditional UPDATE with no
    // transition; if the state changed meanwhile, zero rows match and the full path below decides.
    const at = ctx.clock.now().toISOString();
    const set = { last_checked_at: at, last_good_check_at: at, last_diagnosis: JSON.stringify(g), updated_at: at };
    const domain = await ctx.db
      .updateTable('domains')
      .set(set)
      .where('id', '=', domainId)
      .where('org_id', '=', orgId)
      .where('status', '=', 'verified')
      .returningAll()
      .executeTakeFirst();
    if (domain) return { domain, transition: 'unchanged' };
  }
  const out = await ctx.db.transaction().execute(async (tx) => {
    if (!(await findDomain(tx, orgId, domainId))) throw notFound('domain');
    const d = (await lockDomain(tx, domainId)) as Domain;
    const now = ctx.clock.now();
    const at = now.toISOString();
    const stored = storedDiagnosis(d.last_diagnosis, g);
    const diag = JSON.stringify(stored);
    const target = [{ type: 'domain', id: d.id, name: d.name }];
    const recordName = g.recordName;
    let next: Domain = { ...d, last_checked_at: at, last_diagnosis: diag, updated_at: at };
    let transition: Transition = 'unchanged';

    if (d.status === 'pending' || d.status === 'expired') {
      if (g.ok) {
        if ((await overlappingClaims(tx, orgId, d.name, Number(d.include_subdomains) === 1)).length > 0) {
          await tx
            .updateTable('domains')
            .set({ last_checked_at: at, last_diagnosis: diag, updated_at: at })
            .where('id', '=', d.id)
            .execute();
          await recordAudit(tx, ctx, {
            orgId,
            action: 'domain.verification_conflict',
            outcome: 'denied',
            targets: target,
            metadata: {
              recordName,
              reason:
                'The DNS record is correct, but another organization already holds this domain (or one covering it).',
            },
          });
          return { domain: next, transition: 'conflict' as Transition };
        }
        next = {
          ...next,
          status: 'verified',
          claim_key: d.name,
          verified_at: at,
          last_good_check_at: at,
          failing_since: null,
          grace_until: null,
          expired_at: null,
        };
        transition = 'verified';
        await recordAudit(tx, ctx, {
          orgId,
          action: 'domain.verified',
          targets: target,
          metadata: {
            recordName,
            source,
            previousStatus: d.status,
            includeSubdomains: Number(d.include_subdomains) === 1,
          },
        });
        await notify(tx, ctx, next, 'domain.verified', g, { status: 'verified' });
      } else if (source === 'manual') {
        await recordAudit(tx, ctx, {
          orgId,
          action: 'domain.verification_failed',
          outcome: 'failure',
          targets: target,
          metadata: { recordName, diagnosisCode: g.code, found: foundSummary(g) },
        });
      }
    } else if (g.ok) {
      next = { ...next, last_good_check_at: at };
      if (d.status === 'failing') {
        next = { ...next, status: 'verified', failing_since: null, grace_until: null };
        transition = 'recovered';
        await recordAudit(tx, ctx, {
          orgId,
          action: 'domain.recovered',
          targets: target,
          metadata: { recordName, source, failingSince: d.failing_since, lastGoodCheckAt: d.last_good_check_at },
        });
        await notify(tx, ctx, next, 'domain.recovered', g, { status: 'verified', failingSince: d.failing_since });
      }
    } else if (g.dnsSide && g.responsibility === 'palisade_resolver') {
      // Palisade's own resolver failed: that says nothing about the domain, however long it lasts.
      // The last verdict stands (kept beside the failure in last_diagnosis); the operator must fix DNS.
      transition = 'unchanged';
    } else if (d.status === 'verified' && g.dnsSide && !dnsTroubleIsLasting(ctx, d, now)) {
      // A one-off timeout or SERVFAIL of the domain's name servers says nothing about the record: note it, do not alarm anyone.
      transition = 'unchanged';
    } else if (d.status === 'verified') {
      const graceUntil = new Date(now.getTime() + ctx.config.domainGraceDays * DAY_MS).toISOString();
      next = { ...next, status: 'failing', failing_since: at, grace_until: graceUntil };
      transition = 'failing';
      await recordAudit(tx, ctx, {
        orgId,
        action: 'domain.failing',
        outcome: 'failure',
        targets: target,
        metadata: {
          recordName,
          source,
          diagnosisCode: g.code,
          found: foundSummary(g),
          lastGoodCheckAt: d.last_good_check_at,
          graceUntil,
          capture: `People at ${d.name} are still routed to this organization until ${graceUntil}; fix the record before then.`,
        },
      });
      await notify(tx, ctx, next, 'domain.failing', g, {
        status: 'failing',
        lastGoodCheckAt: d.last_good_check_at,
        failingSince: at,
        graceUntil,
      });
    } else if (d.status === 'failing' && d.grace_until !== null && at >= d.grace_until) {
      next = { ...next, status: 'expired', claim_key: null, expired_at: at };
      transition = 'expired';
      const reason = `Domain capture for ${d.name} stopped: the TXT record ${recordName} has not held the expected verification value since ${d.failing_since} (last good check ${d.last_good_check_at ?? 'never'}), and the ${ctx.config.domainGraceDays}-day grace period ended at ${d.grace_until}. Last check: ${g.code}.`;
      await recordAudit(tx, ctx, {
        orgId,
        action: 'domain.expired',
        outcome: 'failure',
        targets: target,
        metadata: {
          reason,
          recordName,
          diagnosisCode: g.code,
          found: foundSummary(g),
          failingSince: d.failing_since,
          lastGoodCheckAt: d.last_good_check_at,
          graceUntil: d.grace_until,
          captureStopped: true,
        },
      });
      await notify(tx, ctx, next, 'domain.expired', g, {
        status: 'expired',
        lastGoodCheckAt: d.last_good_check_at,
        failingSince: d.failing_since,
        graceUntil: d.grace_until,
        reason,
      });
    }

    const write = () =>
      tx
        .updateTable('domains')
        .set({
          status: next.status,
          claim_key: next.claim_key,
          last_checked_at: next.last_checked_at,
          last_good_check_at: next.last_good_check_at,
          last_diagnosis: next.last_diagnosis,
          verified_at: next.verified_at,
          failing_since: next.failing_since,
          grace_until: next.grace_until,
          expired_at: next.expired_at,
          updated_at: next.updated_at,
        })
        .where('id', '=', d.id)
        .execute();
    if (transition === 'verified' || transition === 'expired') {
      // Capture starts or stops. DNS decides, so the guard cannot refuse it: it records who is affected, if anyone.
      const { impact } = await replayChange(tx, ctx, orgId, write);
      if (impact.warnings.length)
        await recordLockoutWarnings(
          tx,
          ctx,
          { orgId, change: 'domain', target: target[0] as AuditTarget },
          impact,
          'lockout_warning.recorded',
        );
    } else await write();
    return { domain: next, transition };
  });
  return out;
}

/**
 * Failures of the domain's own name servers (timeout, SERVFAIL) start the grace period only once no
 * check has succeeded for two re-check intervals: a blip is ignored, a name server that stays broken
 * is not. (Failures of Palisade's resolver never do; see applyCheck.)
 */
function dnsTroubleIsLasting(ctx: Pick<Ctx, 'config'>, d: Domain, now: Date): boolean {
  const lastGood = d.last_good_check_at ?? d.verified_at;
  if (!lastGood) return true;
  return now.getTime() - new Date(lastGood).getTime() >= 2 * ctx.config.domainRecheckHours * 3600 * 1000;
}

export interface VerifyResult {
  verified: boolean;
  /** What the check means for the domain's state and for sign-ins, in one sentence. */
  summary: string;
  domain: DomainView;
  diagnosis: Diagnosis;
}

/** `POST …/domains/:domainId/verify`: checks the DNS now and applies the result. */
export async function verifyDomain(ctx: Ctx, orgId: string, domainId: string): Promise<VerifyResult> {
  await authorize(ctx, orgId, 'domains.manage');
  const d = await findDomain(ctx.db, orgId, domainId);
  if (!d) throw notFound('domain');
  // Counted only once the caller may manage this domain: someone else's 404s cannot use up its checks.
  await consumeRateLimit(
    ctx,
    {
      bucket: 'domain_verify',
      key: d.id,
      limit: ctx.config.domainVerifyMaxAttemptsPerDomain,
      windowSeconds: ctx.config.domainVerifyWindowSeconds,
    },
    {
      code: 'too_many_verification_attempts',
      message: `Too many verification checks for ${d.name}. DNS changes can take minutes to be visible; Palisade also re-checks verified domains on its own.`,
    },
  );
  // DNS first, claim check second: only someone who controls the record learns that another organization holds it.
  const checked = await checkDns(ctx, d);
  let result: { domain: Domain; transition: Transition };
  try {
    result = await applyCheck(ctx, orgId, domainId, checked, 'manual');
  } catch (err) {
    if (isUniqueViolation(err)) throw claimConflict(d.name);
    throw err;
  }
  if (result.transition === 'conflict') throw claimConflict(d.name);
  // The diagnosis as stored: during a DNS outage it carries the last real verdict.
  const diagnosis = result.domain.last_diagnosis ? (JSON.parse(result.domain.last_diagnosis) as Diagnosis) : checked;
  return {
    verified: result.domain.status === 'verified',
    summary: stateSummary(result.domain, result.transition),
    domain: domainView(ctx.config, result.domain),
    diagnosis,
  };
}

function stateSummary(d: Domain, transition: Transition): string {
  switch (d.status) {
    case 'verified':
      return transition === 'recovered'
        ? `${d.name} is verified again; the grace period is over and sign-ins keep being routed to this organization.`
        : `${d.name} is verified; people with an email at ${d.name} are routed to this organization. Keep the record in place: it is checked again regularly.`;
    case 'failing':
      return `${d.name} is failing since ${d.failing_since}: sign-ins are still routed to this organization until ${d.grace_until}. Fix the record before then, or the domain expires and capture stops.`;
    case 'expired':
      return `${d.name} expired at ${d.expired_at} and no longer captures sign-ins; fix the record and verify again.`;
    case 'pending':
      return `${d.name} is not verified yet; fix what the diagnosis says and verify again.`;
  }
}
