import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Tx } from '../db/schema.js';
import { fingerprintOf } from './signing-certificate.js';

/**
 * Certificates held back by the metadata refresh: when an IdP's metadata stops publishing the
 * certificate its recent sign-ins were signed with, the refresh keeps that certificate beside the
 * new ones (`saml_held_certs`, also in `saml_idp_certs`) instead of locking those people out
 * (src/sso/metadata-refresh.ts). The hold ends at the first sign-in signed with another configured
 * certificate: the IdP has switched, so the old certificate is no longer trusted.
 */
export const heldCertificates = (row: { saml_held_certs: string | null }): string[] =>
  row.saml_held_certs ? (JSON.parse(row.saml_held_certs) as string[]) : [];

/** Called in the sign-in transaction with the fingerprint of the certificate that verified it. */
export async function releaseHeldCertificates(
  tx: Tx,
  ctx: Pick<Ctx, 'clock' | 'caller' | 'meta'>,
  connectionId: string,
  signedWith: string,
): Promise<void> {
  const row = await tx
    .selectFrom('sso_connections')
    .select(['id', 'org_id', 'name', 'saml_idp_certs', 'saml_held_certs'])
    .where('id', '=', connectionId)
    .executeTakeFirst();
  const held = row ? heldCertificates(row) : [];
  if (!row || !held.length) return;
  const heldSha256 = held.map(fingerprintOf);
  if (heldSha256.includes(signedWith)) return; // the IdP still signs with a held certificate
  const remaining = (JSON.parse(row.saml_idp_certs ?? '[]') as string[]).filter((c) => !held.includes(c));
  if (!remaining.length) return;
  const at = ctx.clock.now().toISOString();
  await tx
    .updateTable('sso_connections')
    .set({ saml_idp_certs: JSON.stringify(remaining), saml_held_certs: null, updated_at: at })
    .where('id', '=', row.id)
    .execute();
  await recordAudit(
    tx,
    { ...ctx, caller: { kind: 'system', name: 'sso_certificate_rollover' } },
    {
      orgId: row.org_id,
      action: 'sso.certificate_released',
      targets: [{ type: 'sso_connection', id: row.id, name: row.name }],
      metadata: {
        released: heldSha256,
        signedWith,
        reason:
          "A sign-in was signed with the identity provider's new certificate, so the certificate its metadata no longer publishes is no longer trusted.",
      },
    },
  );
}
