import { X509Certificate } from 'node:crypto';
import type { Ctx } from '../context.js';
import { CERT_WARN_DAYS, DAY_MS, SCIM_TOKEN_UNUSED_DAYS } from './catalog.js';
import type { Draft } from './draft.js';
import { applyDraft } from './engine.js';

type Sys = Pick<Ctx, 'db' | 'clock' | 'config'>;

/**
 * Detectors that watch time rather than changes (no audit event marks "30 days before a
 * certificate expires"): SAML certificates, SCIM error rates, unused SCIM tokens. Each finding has
 * a dedup key naming what it is about and its threshold, so it is sent once however often this runs.
 */
export async function scanAll(ctx: Sys): Promise<{ certificates: number; scimErrors: number; scimTokens: number }> {
  const drafts = [...(await certificateDrafts(ctx)), ...(await scimErrorDrafts(ctx)), ...(await scimTokenDrafts(ctx))];
  const counts = { certificates: 0, scimErrors: 0, scimTokens: 0 };
  for (const d of drafts) {
    if (!(await ctx.db.transaction().execute((tx) => applyDraft(tx, ctx, d)))) continue;
    if (d.type === 'sso.certificate_expiring') counts.certificates++;
    else if (d.type === 'scim.sync_errors') counts.scimErrors++;
    else counts.scimTokens++;
  }
  return counts;
}

function parseCert(s: string): X509Certificate | null {
  try {
    return new X509Certificate(s.includes('-----BEGIN') ? s : Buffer.from(s, 'base64'));
  } catch {
    return null;
  }
}

export async function certificateDrafts(ctx: Sys): Promise<Draft[]> {
  const now = ctx.clock.now();
  const rows = await ctx.db
    .selectFrom('sso_connections')
    .select(['id', 'org_id', 'name', 'saml_idp_certs', 'sp_certificate'])
    .where('protocol', '=', 'saml')
    .where('status', '!=', 'draft')
    .execute();
  const out: Draft[] = [];
  for (const r of rows) {
    const certs: { role: 'idp' | 'sp'; cert: X509Certificate }[] = [];
    for (const c of JSON.parse(r.saml_idp_certs ?? '[]') as string[]) {
      const x = parseCert(c);
      if (x) certs.push({ role: 'idp', cert: x });
    }
    const sp = r.sp_certificate ? parseCert(r.sp_certificate) : null;
    if (sp) certs.push({ role: 'sp', cert: sp });
    for (const { role, cert } of certs) {
      const notAfter = new Date(cert.validTo);
      const left = Math.ceil((notAfter.getTime() - now.getTime()) / DAY_MS);
      if (left <= 0) continue;
      // The nearest threshold reached: a certificate added with 5 days left gets the 7-day warning, then the 1-day one.
      const n = [...CERT_WARN_DAYS].sort((a, b) => a - b).find((w) => left <= w);
      if (n === undefined) continue;
      const who =
        role === 'idp' ? "the identity provider's signing certificate" : "Palisade's service-provider certificate";
      const fix =
        role === 'idp'
          ? `Ask the identity provider's administrator to publish the next certificate now. If the connection uses a metadata URL, Palisade picks it up at its next refresh (every 6 hours) and keeps the old one while recent sign-ins need it; otherwise add the new certificate with PATCH …/sso/connections/${r.id} before ${notAfter.toISOString()}, or sign-ins through ${r.name} fail.`
          : `Create a new connection (it gets a new SP certificate), give its SP metadata to the identity provider, test it, and switch over before ${notAfter.toISOString()}; the identity provider may refuse to encrypt to or trust an expired certificate.`;
      out.push({
        orgId: r.org_id,
        type: 'sso.certificate_expiring',
        phase: 'alert',
        severity: n === 1 ? 'critical' : 'warning',
        causeKey: null,
        title: `SAML certificate of ${r.name} expires in ${n} day${n === 1 ? '' : 's'} (${notAfter.toISOString()})`,
        facts: {
          connection: r.name,
          connectionId: r.id,
          certificate: role === 'idp' ? 'idp_signing' : 'sp',
          description: who,
          subject: cert.subject,
          fingerprintSha256: cert.fingerprint256,
          notAfter: notAfter.toISOString(),
          daysLeft: left,
          threshold: n,
        },
        fix,
        links: [
          { label: 'Connection', url: `${ctx.config.publicUrl}/api/v1/orgs/${r.org_id}/sso/connections/${r.id}` },
        ],
        dedupKey: `cert:${r.id}:${cert.fingerprint256}:${n}`,
      });
    }
  }
  return out;
}

export async function scimErrorDrafts(ctx: Sys): Promise<Draft[]> {
  const now = ctx.clock.now();
  const since = new Date(now.getTime() - 3_600_000).toISOString();
  const rows = await ctx.db
    .selectFrom('scim_sync_log')
    .innerJoin('scim_directories', 'scim_directories.id', 'scim_sync_log.directory_id')
    .select([
      'scim_sync_log.directory_id as directoryId',
      'scim_sync_log.org_id as orgId',
      'scim_directories.name',
      'scim_sync_log.cause',
      'scim_sync_log.explanation',
      'scim_sync_log.occurrences',
    ])
    .where('scim_sync_log.outcome', '=', 'failure')
    .where('scim_sync_log.occurred_at', '>', since)
    .execute();
  const byDir = new Map<
    string,
    { orgId: string; name: string; total: number; causes: Map<string, { count: number; explanation: string | null }> }
  >();
  for (const r of rows) {
    const e = byDir.get(r.directoryId) ?? { orgId: r.orgId, name: r.name, total: 0, causes: new Map() };
    const n = Number(r.occurrences ?? 1);
    e.total += n;
    const c = e.causes.get(r.cause ?? 'unknown') ?? { count: 0, explanation: r.explanation };
    c.count += n;
    e.causes.set(r.cause ?? 'unknown', c);
    byDir.set(r.directoryId, e);
  }
  const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000).toISOString();
  const out: Draft[] = [];
  for (const [dirId, e] of byDir) {
    if (e.total < ctx.config.notificationScimErrorsPerHour) continue;
    const causes = [...e.causes.entries()].sort((a, b) => b[1].count - a[1].count);
    const [topCause, top] = causes[0]!;
    out.push({
      orgId: e.orgId,
      type: 'scim.sync_errors',
      phase: 'alert',
      severity: 'warning',
      causeKey: null,
      title: `SCIM directory ${e.name}: ${e.total} failed requests in the last hour`,
      facts: {
        directory: e.name,
        directoryId: dirId,
        failures: e.total,
        threshold: ctx.config.notificationScimErrorsPerHour,
        since,
        causes: causes.slice(0, 5).map(([cause, c]) => ({ cause, count: c.count, explanation: c.explanation })),
      },
      fix: `Most failures (${top.count}) are ${topCause}: ${top.explanation ?? 'see the sync log'} The sync log (GET …/scim/directories/${dirId}/sync-log) lists each request.`,
      links: [
        { label: 'Sync log', url: `${ctx.config.publicUrl}/api/v1/orgs/${e.orgId}/scim/directories/${dirId}/sync-log` },
      ],
      dedupKey: `scim_errors:${dirId}:${hour}`,
    });
  }
  return out;
}

export async function scimTokenDrafts(ctx: Sys): Promise<Draft[]> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  const cutoff = new Date(now.getTime() - SCIM_TOKEN_UNUSED_DAYS * DAY_MS).toISOString();
  const rows = await ctx.db
    .selectFrom('scim_tokens')
    .innerJoin('scim_directories', 'scim_directories.id', 'scim_tokens.directory_id')
    .select([
      'scim_tokens.id',
      'scim_tokens.display_prefix',
      'scim_tokens.created_at',
      'scim_tokens.last_used_at',
      'scim_directories.id as directoryId',
      'scim_directories.org_id as orgId',
      'scim_directories.name',
    ])
    .where('scim_directories.status', '=', 'active')
    .where('scim_tokens.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('scim_tokens.expires_at', 'is', null), eb('scim_tokens.expires_at', '>', at)]))
    .where((eb) =>
      eb.or([
        eb('scim_tokens.last_used_at', '<', cutoff),
        eb.and([eb('scim_tokens.last_used_at', 'is', null), eb('scim_tokens.created_at', '<', cutoff)]),
      ]),
    )
    .execute();
  return rows.map((r) => ({
    orgId: r.orgId,
    type: 'scim.token_unused' as const,
    phase: 'alert' as const,
    severity: 'info' as const,
    causeKey: null,
    title: `SCIM token ${r.display_prefix}… of ${r.name} has not been used for ${SCIM_TOKEN_UNUSED_DAYS} days`,
    facts: {
      directory: r.name,
      directoryId: r.directoryId,
      tokenPrefix: r.display_prefix,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
    },
    fix: `The identity provider has not called Palisade with this token since ${r.last_used_at ?? `it was created (${r.created_at})`}: check that provisioning is still turned on in the identity provider and that it uses this token; if the directory is no longer used, delete it.`,
    links: [
      { label: 'Directory', url: `${ctx.config.publicUrl}/api/v1/orgs/${r.orgId}/scim/directories/${r.directoryId}` },
    ],
    dedupKey: `scim_token_unused:${r.id}:${r.last_used_at ?? 'never'}`,
  }));
}
