import type { Ctx } from '../context.js';
import type { Diagnosis } from '../domains/diagnosis.js';
import { DAY_MS } from './catalog.js';
import type { Draft } from './draft.js';

/**
 * Domain notifications carry the domain's stored diagnosis: the facts (record name, expected value,
 * what DNS held, since when) and, as the fix, the diagnosis message word for word — the same text
 * the domain page and `POST …/verify` show.
 */
export type DomainPhase = 'failing' | 'reminder' | 'warning' | 'expired' | 'resolved';

export async function domainDraft(
  ctx: Pick<Ctx, 'db' | 'config'>,
  orgId: string,
  domainId: string,
  phase: DomainPhase,
  now: Date,
  extra: Record<string, unknown> = {},
  warnDays?: number,
): Promise<Omit<Draft, 'dedupKey'> | null> {
  const d = await ctx.db
    .selectFrom('domains')
    .selectAll()
    .where('id', '=', domainId)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!d) return null;
  const stored = d.last_diagnosis ? (JSON.parse(d.last_diagnosis) as Diagnosis) : null;
  // During a DNS outage the stored diagnosis carries the last real verdict beside it.
  const g = stored?.dnsSide && stored.lastVerdict ? stored.lastVerdict : stored;
  const base = `${ctx.config.publicUrl}/api/v1/orgs/${orgId}/domains/${d.id}`;
  const links = [
    { label: 'Domain status and diagnosis', url: base },
    { label: 'Check again (POST)', url: `${base}/verify` },
  ];
  const daysLeft = d.grace_until ? Math.max(0, Math.ceil((Date.parse(d.grace_until) - now.getTime()) / DAY_MS)) : null;
  const facts: Record<string, unknown> = {
    domain: d.name,
    status: d.status,
    recordName: g?.recordName ?? null,
    expectedValue: d.token,
    found: (g?.found ?? []).map((f) => f.value),
    diagnosisCode: g?.code ?? null,
    lastGoodCheckAt: d.last_good_check_at,
    lastCheckedAt: d.last_checked_at,
    failingSince: d.failing_since ?? (extra.failingSince as string | undefined) ?? null,
    graceUntil: d.grace_until ?? (extra.graceUntil as string | undefined) ?? null,
    ...(phase === 'failing' || phase === 'reminder' || phase === 'warning' ? { daysLeft } : {}),
    ...(phase === 'expired' ? { expiredAt: d.expired_at } : {}),
  };
  const diagnosis = g?.message ?? 'The verification record could not be checked.';
  const common = { orgId, causeKey: `domain:${d.id}`, links };
  switch (phase) {
    case 'failing':
    case 'reminder':
    case 'warning': {
      const when = `sign-ins stay routed to this organization until ${facts.graceUntil as string}`;
      const title =
        phase === 'warning'
          ? `${d.name} expires in ${warnDays} day${warnDays === 1 ? '' : 's'}: its verification record is still wrong`
          : `${phase === 'reminder' ? 'Still failing: ' : ''}${d.name} failed domain verification (${facts.diagnosisCode as string})`;
      return {
        ...common,
        type: 'domain.verification_failing',
        phase: phase === 'failing' ? 'alert' : phase,
        severity: 'critical',
        remindEveryMs: DAY_MS,
        title,
        facts,
        fix: `${diagnosis} Until then ${when}; after that the domain expires and capture stops.`,
      };
    }
    case 'expired':
      return {
        ...common,
        type: 'domain.expired',
        phase: 'alert',
        stage: 2,
        severity: 'critical',
        remindEveryMs: 7 * DAY_MS,
        title: `${d.name} expired: sign-ins are no longer routed to this organization`,
        facts,
        fix: `${diagnosis} Then check again (POST ${links[1]!.url}): capture resumes once the record is correct.`,
      };
    case 'resolved':
      return {
        ...common,
        type: 'domain.recovered',
        phase: 'resolved',
        severity: 'info',
        title: `${d.name} is verified again`,
        facts: { ...facts, resolvedAt: now.toISOString() },
        fix: `Nothing to do: ${diagnosis} Keep the record in place; it is checked again regularly.`,
      };
  }
}
