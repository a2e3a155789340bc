import { recordAudit } from '../audit/record.js';
import type { PalisadeConfig } from '../config.js';
import type { Ctx } from '../context.js';
import { PalisadeError, badRequest } from '../errors.js';
import type { JobDefinition } from '../jobs/scheduler.js';
import { type OutboundResponse, outboundRequest } from '../net/outbound.js';
import type { ConnectionRow } from './connections.js';
import { type IdpMetadata, certificateInfo, parseIdpMetadata } from './idp-metadata.js';

const MAX_METADATA_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 5;

/**
 * Downloads and parses IdP metadata; every failure says what to check. The URL is an admin's
 * choice, so every hop (redirects included, each one checked again) goes through the outbound
 * policy: a metadata URL cannot reach this machine, cloud metadata or other denied ranges.
 */
export async function fetchIdpMetadata(config: PalisadeConfig, url: string): Promise<IdpMetadata> {
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw badRequest('invalid_url', `"${url.slice(0, 100)}" is not a URL; give the full https:// address of your IdP's metadata.`);
  }
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'https:' && current.protocol !== 'http:') throw badRequest('invalid_url', `The metadata URL${hop ? ' redirects to one that' : ''} must be an https:// URL.`);
    let res: OutboundResponse;
    try {
      res = await outboundRequest(config, current, { timeoutMs: 10_000, maxBytes: MAX_METADATA_BYTES, headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
    } catch (err) {
      if (err instanceof PalisadeError) throw err; // destination_address_denied names the host, the address and the setting
      throw new PalisadeError(502, 'idp_metadata_unreachable', `Palisade could not download the IdP metadata from ${current.host} (${(err as Error).message.slice(0, 100)}). Check the URL and that Palisade can reach it.`);
    }
    const location = res.headers.location;
    if (res.status >= 300 && res.status < 400 && location) {
      if (hop >= MAX_REDIRECTS) throw new PalisadeError(502, 'idp_metadata_unreachable', `The IdP metadata URL redirected more than ${MAX_REDIRECTS} times. Give the final metadata URL.`);
      current = new URL(location, current);
      continue;
    }
    if (res.status < 200 || res.status >= 300) throw new PalisadeError(502, 'idp_metadata_unreachable', `The IdP metadata URL answered HTTP ${res.status}. Check the URL in your identity provider's admin console.`);
    if (res.truncated) throw badRequest('invalid_idp_metadata', 'The IdP metadata is larger than 1 MiB; use the metadata of the single application, not a federation aggregate.');
    return parseIdpMetadata(res.body.toString('utf8'));
  }
}

/**
 * Refreshes IdP metadata of every SAML connection configured by URL. A changed certificate set
 * (the IdP publishing its next certificate beside the current one) is applied and audited, so a
 * rollover needs no admin action; so is an IdP that starts requiring signed AuthnRequests
 * (WantAuthnRequestsSigned="true"): signing is turned on, since unsigned requests would be refused.
 * Idempotent: unchanged metadata changes nothing.
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
    md = await fetchIdpMetadata(ctx.config, row.saml_metadata_url ?? '');
  } catch (err) {
    const message = (err as Error).message.slice(0, 600);
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
  const wants = md.wantAuthnRequestsSigned ? 1 : 0;
  // A connection without an SP key cannot sign; its sign-ins keep failing at the IdP until it is recreated.
  const startSigning = wants === 1 && row.saml_sign_authn_requests !== 1 && row.sp_certificate !== null;
  const same = certs === row.saml_idp_certs && md.entityId === row.saml_idp_entity_id && md.ssoUrl === row.saml_idp_sso_url && wants === row.saml_idp_wants_signed_requests && !startSigning;
  await ctx.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('sso_connections')
      .set({
        saml_metadata_refreshed_at: at,
        saml_metadata_error: null,
        ...(same ? {} : { saml_idp_certs: certs, saml_idp_entity_id: md.entityId, saml_idp_sso_url: md.ssoUrl, saml_idp_wants_signed_requests: wants, updated_at: at }),
        ...(startSigning ? { saml_sign_authn_requests: 1 } : {}),
      })
      .where('id', '=', row.id)
      .execute();
    if (!same) {
      const before = (JSON.parse(row.saml_idp_certs ?? '[]') as string[]).map((c) => certificateInfo(c).fingerprintSha256);
      const after = md.certificates.map((c) => certificateInfo(c).fingerprintSha256);
      await recordAudit(tx, ctx, {
        orgId: row.org_id,
        action: 'sso.metadata_refreshed',
        targets: [{ type: 'sso_connection', id: row.id, name: row.name }],
        metadata: {
          certificatesAdded: after.filter((f) => !before.includes(f)),
          certificatesRemoved: before.filter((f) => !after.includes(f)),
          entityIdChanged: md.entityId !== row.saml_idp_entity_id,
          ssoUrlChanged: md.ssoUrl !== row.saml_idp_sso_url,
          idpWantsAuthnRequestsSigned: md.wantAuthnRequestsSigned,
          ...(startSigning ? { signAuthnRequests: true, reason: 'The IdP metadata now says WantAuthnRequestsSigned="true"; AuthnRequests are signed from now on. Give the IdP the SP metadata (it names the signing certificate) if it does not have it.' } : {}),
        },
      });
    }
  });
  return same ? 'unchanged' : 'changed';
}
