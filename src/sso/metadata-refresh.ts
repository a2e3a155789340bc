import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { PalisadeError, badRequest } from '../errors.js';
import type { JobDefinition } from '../jobs/scheduler.js';
import type { ConnectionRow } from './connections.js';
import { type IdpMetadata, certificateInfo, parseIdpMetadata } from './idp-metadata.js';

const MAX_METADATA_BYTES = 1024 * 1024;

/** Downloads and parses IdP metadata; every failure says what to check. */
export async function fetchIdpMetadata(url: string): Promise<IdpMetadata> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest('invalid_url', `"${url.slice(0, 100)}" is not a URL; give the full https:// address of your IdP's metadata.`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw badRequest('invalid_url', 'The metadata URL must be an https:// URL.');
  let res: Response;
  try {
    res = await fetch(parsed, { signal: AbortSignal.timeout(10_000), redirect: 'follow', headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
  } catch (err) {
    throw new PalisadeError(502, 'idp_metadata_unreachable', `Palisade could not download the IdP metadata from ${parsed.host} (${(err as Error).message.slice(0, 100)}). Check the URL and that Palisade can reach it.`);
  }
  if (!res.ok) throw new PalisadeError(502, 'idp_metadata_unreachable', `The IdP metadata URL answered HTTP ${res.status}. Check the URL in your identity provider's admin console.`);
  const text = await res.text();
  if (text.length > MAX_METADATA_BYTES) throw badRequest('invalid_idp_metadata', 'The IdP metadata is larger than 1 MiB; use the metadata of the single application, not a federation aggregate.');
  return parseIdpMetadata(text);
}

/**
 * Refreshes IdP metadata of every SAML connection configured by URL. A changed certificate set
 * (the IdP publishing its next certificate beside the current one) is applied and audited, so a
 * rollover needs no admin action. Idempotent: unchanged metadata changes nothing.
 */
export function samlMetadataRefreshJob(): JobDefinition {
  return {
    name: 'sso.metadata_refresh',
    intervalMs: 6 * 3_600_000,
    run: async (ctx) => refreshAllMetadata(ctx),
  };
}

export async function refreshAllMetadata(ctx: Ctx): Promise<{ checked: number; changed: number; failed: number }> {
  const rows = await ctx.db.selectFrom('sso_connections').selectAll().where('protocol', '=', 'saml').where('saml_metadata_url', 'is not', null).execute();
  let changed = 0;
  let failed = 0;
  for (const row of rows) {
    const outcome = await refreshOne(ctx, row);
    if (outcome === 'changed') changed++;
    if (outcome === 'failed') failed++;
  }
  return { checked: rows.length, changed, failed };
}

async function refreshOne(ctx: Ctx, row: ConnectionRow): Promise<'changed' | 'unchanged' | 'failed'> {
  const at = ctx.clock.now().toISOString();
  let md: IdpMetadata;
  try {
    md = await fetchIdpMetadata(row.saml_metadata_url ?? '');
  } catch (err) {
    const message = (err as Error).message.slice(0, 300);
    await ctx.db.transaction().execute(async (tx) => {
      await tx.updateTable('sso_connections').set({ saml_metadata_error: message }).where('id', '=', row.id).execute();
      // Audited when a connection starts failing, not on every retry.
      if (row.saml_metadata_error === null) {
        await recordAudit(tx, ctx, { orgId: row.org_id, action: 'sso.metadata_refresh_failed', outcome: 'failure', targets: [{ type: 'sso_connection', id: row.id, name: row.name }], metadata: { error: message } });
      }
    });
    return 'failed';
  }
  const certs = JSON.stringify(md.certificates);
  const same = certs === row.saml_idp_certs && md.entityId === row.saml_idp_entity_id && md.ssoUrl === row.saml_idp_sso_url;
  await ctx.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('sso_connections')
      .set({ saml_metadata_refreshed_at: at, saml_metadata_error: null, ...(same ? {} : { saml_idp_certs: certs, saml_idp_entity_id: md.entityId, saml_idp_sso_url: md.ssoUrl, updated_at: at }) })
      .where('id', '=', row.id)
      .execute();
    if (!same) {
      const before = (JSON.parse(row.saml_idp_certs ?? '[]') as string[]).map((c) => certificateInfo(c).fingerprintSha256);
      const after = md.certificates.map((c) => certificateInfo(c).fingerprintSha256);
      await recordAudit(tx, ctx, {
        orgId: row.org_id,
        action: 'sso.metadata_refreshed',
        targets: [{ type: 'sso_connection', id: row.id, name: row.name }],
        metadata: { certificatesAdded: after.filter((f) => !before.includes(f)), certificatesRemoved: before.filter((f) => !after.includes(f)), entityIdChanged: md.entityId !== row.saml_idp_entity_id, ssoUrlChanged: md.ssoUrl !== row.saml_idp_sso_url },
      });
    }
  });
  return same ? 'unchanged' : 'changed';
}
