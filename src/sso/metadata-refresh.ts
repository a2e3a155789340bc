import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Tx } from '../db/schema.js';
import { PalisadeError } from '../errors.js';
import { guardChange, previewChange } from '../lockout/guard.js';
import type { ConnectionRow } from './connections.js';
import { type IdpMetadata, certificateInfo } from './idp-metadata.js';
import { fetchIdpMetadata } from './metadata-fetch.js';
import { recentCutoff } from './store.js';

export async function refreshAllMetadata(
  ctx: Ctx,
): Promise<{ checked: number; changed: number; failed: number; held?: number }> {
  const rows = await ctx.db
    .selectFrom('sso_connections')
    .selectAll()
    .where('protocol', '=', 'saml')
    .where('saml_metadata_url', 'is not', null)
    .execute();
  let changed = 0;
  let failed = 0;
  let held = 0;
  for (const row of rows) {
    const outcome = await refreshOne(ctx, row);
    if (outcome === 'changed') changed++;
    if (outcome === 'failed') failed++;
    if (outcome === 'held') held++;
  }
  return { checked: rows.length, changed, failed, ...(held ? { held } : {}) };
}

type MetadataFields = Pick<
  ConnectionRow,
  | 'saml_idp_certs'
  | 'saml_held_certs'
  | 'saml_idp_entity_id'
  | 'saml_idp_sso_url'
  | 'saml_idp_wants_signed_requests'
  | 'saml_sign_authn_requests'
>;

const sameFields = (row: ConnectionRow, f: MetadataFields) =>
  (Object.keys(f) as (keyof MetadataFields)[]).every((k) => row[k] === f[k]);

async function refreshOne(ctx: Ctx, row: ConnectionRow): Promise<'changed' | 'unchanged' | 'failed' | 'held'> {
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
        await recordAudit(tx, ctx, {
          orgId: row.org_id,
          action: 'sso.metadata_refresh_failed',
          outcome: 'failure',
          targets: [{ type: 'sso_connection', id: row.id, name: row.name }],
          metadata: { error: message },
        });
      }
    });
    return 'failed';
  }
  const wants = md.wantAuthnRequestsSigned ? 1 : 0;
  // A connection without an SP key cannot sign; its sign-ins keep failing at the IdP until it is recreated.
  const startSigning = wants === 1 && row.saml_sign_authn_requests !== 1 && row.sp_certificate !== null;
  const full: MetadataFields = {
    saml_idp_certs: JSON.stringify(md.certificates),
    saml_held_certs: null,
    saml_idp_entity_id: md.entityId,
    saml_idp_sso_url: md.ssoUrl,
    saml_idp_wants_signed_requests: wants,
    saml_sign_authn_requests: startSigning ? 1 : row.saml_sign_authn_requests,
  };
  const target = { type: 'sso_connection', id: row.id, name: row.name };
  const write = (tx: Tx, f: MetadataFields) =>
    tx
      .updateTable('sso_connections')
      .set({ ...f, saml_metadata_refreshed_at: at, saml_metadata_error: null, updated_at: at })
      .where('id', '=', row.id)
      .execute();
  const touch = () =>
    ctx.db
      .updateTable('sso_connections')
      .set({ saml_metadata_refreshed_at: at, saml_metadata_error: null })
      .where('id', '=', row.id)
      .execute();
  if (sameFields(row, full)) {
    await touch();
    return 'unchanged';
  }
  const fingerprintsOf = (json: string | null) =>
    (JSON.parse(json ?? '[]') as string[]).map((c) => certificateInfo(c).fingerprintSha256);
  const changes = (f: MetadataFields) => {
    const before = fingerprintsOf(row.saml_idp_certs);
    const after = fingerprintsOf(f.saml_idp_certs);
    return {
      certificatesAdded: after.filter((x) => !before.includes(x)),
      certificatesRemoved: before.filter((x) => !after.includes(x)),
      entityIdChanged: md.entityId !== row.saml_idp_entity_id,
      ssoUrlChanged: md.ssoUrl !== row.saml_idp_sso_url,
      idpWantsAuthnRequestsSigned: md.wantAuthnRequestsSigned,
      ...(startSigning
        ? {
            signAuthnRequests: true,
            reason:
              'The IdP metadata now says WantAuthnRequestsSigned="true"; AuthnRequests are signed from now on. Give the IdP the SP metadata (it names the signing certificate) if it does not have it.',
          }
        : {}),
    };
  };

  // The metadata as published, if it locks nobody out.
  const impact = await previewChange(ctx, row.org_id, (tx) => write(tx, full));
  if (!impact.warnings.length) {
    await ctx.db.transaction().execute(async (tx) => {
      await guardChange(tx, ctx, { orgId: row.org_id, change: 'sso_certificates', target }, () => write(tx, full));
      await recordAudit(tx, ctx, {
        orgId: row.org_id,
        action: 'sso.metadata_refreshed',
        targets: [target],
        metadata: changes(full),
      });
    });
    return 'changed';
  }

  // Otherwise keep the certificates recent sign-ins were signed with beside the new ones.
  const published = md.certificates;
  const current = JSON.parse(row.saml_idp_certs ?? '[]') as string[];
  const dropped = current.filter((c) => !published.includes(c));
  // The certificate each person's latest recent sign-in was signed with.
  const latest = ctx.db
    .selectFrom('sso_logins')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('connection_id', '=', row.id)
    .where('occurred_at', '>=', recentCutoff(ctx.clock.now()))
    .groupBy('user_id');
  const recent = await ctx.db
    .selectFrom('sso_logins')
    .select('signing_cert_sha256')
    .distinct()
    .where('id', 'in', latest)
    .where('signing_cert_sha256', 'is not', null)
    .execute();
  const inUse = new Set(recent.map((r) => r.signing_cert_sha256));
  // Sign-ins recorded before Palisade noted the certificate: every dropped one may be in use.
  const hold = inUse.size ? dropped.filter((c) => inUse.has(certificateInfo(c).fingerprintSha256)) : dropped;
  const heldFields: MetadataFields = {
    ...full,
    saml_idp_certs: JSON.stringify([...published, ...hold]),
    saml_held_certs: hold.length ? JSON.stringify(hold) : null,
  };
  const people = impact.warnings
    .slice(0, 50)
    .map((w) => ({ email: w.email, problem: w.problem, explanation: w.explanation }));
  if (hold.length && sameFields(row, heldFields)) {
    await touch();
    return 'unchanged';
  }
  if (hold.length) {
    try {
      await ctx.db.transaction().execute(async (tx) => {
        await guardChange(tx, ctx, { orgId: row.org_id, change: 'sso_certificates', target }, () =>
          write(tx, heldFields),
        );
        await recordAudit(tx, ctx, {
          orgId: row.org_id,
          action: 'sso.certificate_held',
          outcome: 'denied',
          targets: [target],
          metadata: {
            ...changes(heldFields),
            held: hold.map((c) => certificateInfo(c).fingerprintSha256),
            people,
            reason: `The identity provider's metadata no longer publishes the certificate recent sign-ins were signed with; removing it would lock ${impact.warnings.length} people out. It is kept beside the new certificate(s) until a sign-in signed with a new one succeeds, then released (sso.certificate_released).`,
          },
        });
      });
      return 'held';
    } catch (err) {
      if (!(err instanceof PalisadeError && err.code === 'sso_change_would_lock_out')) throw err;
    }
  }
  // Even with the old certificate kept, the new metadata would lock people out: nothing is applied.
  const message = `Held back: applying the identity provider's new metadata would lock ${impact.warnings.length} people out (${impact.warnings
    .slice(0, 3)
    .map((w) => w.email)
    .join(
      ', ',
    )}). Check the metadata at the IdP, or apply it by hand with PATCH …/sso/connections/${row.id} and "acknowledgeWarnings": true.`;
  await ctx.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('sso_connections')
      .set({ saml_metadata_refreshed_at: at, saml_metadata_error: message })
      .where('id', '=', row.id)
      .execute();
    if (row.saml_metadata_error !== message) {
      await recordAudit(tx, ctx, {
        orgId: row.org_id,
        action: 'sso.metadata_refreshed',
        outcome: 'denied',
        targets: [target],
        metadata: { ...changes(full), reason: 'would_lock_out', people },
      });
    }
  });
  return 'held';
}
