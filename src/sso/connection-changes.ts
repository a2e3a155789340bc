import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { guardChange, previewChange } from '../lockout/guard.js';
import { ImpactFields, type ImpactView, impactView } from '../lockout/views.js';
import { assertDestinationAllowed } from '../net/outbound.js';
import { authorize } from '../orgs/authorize.js';
import { RoleMappingInput, validateRoleMapping, writeRoleMapping } from '../orgs/role-mapping.js';
import {
  type ConnectionRow,
  ConnectionView,
  UpdateConnectionInput,
  applyUpdate,
  changedFields,
  connectionView,
  loadConnection,
} from './connections.js';
import { badRequest } from '../errors.js';
import { fetchIdpMetadata } from './metadata-fetch.js';
import { sealConnectionSecret } from './secrets.js';

/**
 * Changes to a connection, each through the lockout guard (src/lockout/guard.ts): recent sign-ins
 * are replayed against the changed connection in the change's own transaction, and a change that
 * would take sign-in access or a role away from anyone is refused with the list unless
 * acknowledged. The guard runs whether or not SSO is enforced: people created by JIT have no
 * password, so a broken connection locks them out either way.
 */
export const UpdatedConnectionView = Type.Composite([ConnectionView, Type.Object(ImpactFields)]);
export type UpdatedConnectionView = Static<typeof UpdatedConnectionView>;

const certificatesChanged = (a: ConnectionRow, b: ConnectionRow) => a.saml_idp_certs !== b.saml_idp_certs;

export async function updateConnection(
  ctx: Ctx,
  orgId: string,
  id: string,
  input: UpdateConnectionInput,
): Promise<ConnectionView & ImpactView> {
  await authorize(ctx, orgId, 'sso.manage');
  const current = await loadConnection(ctx.db, orgId, id);
  const at = ctx.clock.now().toISOString();
  const fetched =
    input.saml?.metadataUrl && !input.saml.metadataXml && current.protocol === 'saml'
      ? await fetchIdpMetadata(ctx.config, input.saml.metadataUrl)
      : undefined;
  const next = applyUpdate(current, input, at, fetched);
  // Discovery fetches from the issuer: refused now (400) rather than at the next sign-in.
  if (next.oidc_issuer && next.oidc_issuer !== current.oidc_issuer)
    await assertDestinationAllowed(ctx.config, new URL(next.oidc_issuer).hostname);
  const fields = changedFields(current, next);
  const newSecret = input.oidc?.clientSecret;
  if (newSecret !== undefined) fields.push('oidc_client_secret (rotated)');
  const target = { type: 'sso_connection', id, name: next.name };
  const change = certificatesChanged(current, next) ? 'sso_certificates' : 'sso_connection';
  const { impact } = await ctx.db.transaction().execute(async (tx) => {
    const enforced = await tx
      .selectFrom('sso_enforcement')
      .select('connection_id')
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    return guardChange(
      tx,
      ctx,
      { orgId, change, target, acknowledge: input.acknowledgeWarnings === true },
      async () => {
        if (newSecret !== undefined) {
          const s = await sealConnectionSecret(tx, ctx.config, ctx.clock.now(), next, 'oidc_client_secret', newSecret);
          next.oidc_client_secret_ct = s.ct;
          next.oidc_client_secret_key_version = s.keyVersion;
        }
        const { id: _id, org_id: _org, created_at: _c, ...set } = next;
        await tx.updateTable('sso_connections').set(set).where('id', '=', id).where('org_id', '=', orgId).execute();
        await recordAudit(tx, ctx, {
          orgId,
          action: 'sso.connection_updated',
          targets: [target],
          metadata: {
            fields,
            enforced: enforced?.connection_id === id,
            ...(current.saml_sign_authn_requests !== next.saml_sign_authn_requests
              ? { signAuthnRequests: next.saml_sign_authn_requests === 1 }
              : {}),
            ...(current.saml_allow_sha1 !== next.saml_allow_sha1
              ? { allowSha1Signatures: next.saml_allow_sha1 === 1 }
              : {}),
            ...(current.oidc_token_auth_method !== next.oidc_token_auth_method
              ? { tokenAuthMethod: next.oidc_token_auth_method ?? 'auto' }
              : {}),
          },
        });
      },
    );
  });
  return { ...connectionView(ctx, next), ...impactView(impact) };
}

export const DeleteConnectionQuery = Type.Object(
  {
    acknowledgeWarnings: Type.Optional(
      Type.Boolean({
        description: 'Delete even though the lockout guard lists people who sign in only through this connection.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type DeleteConnectionQuery = Static<typeof DeleteConnectionQuery>;

export async function deleteConnection(
  ctx: Ctx,
  orgId: string,
  id: string,
  query: DeleteConnectionQuery = {},
): Promise<void> {
  await authorize(ctx, orgId, 'sso.manage');
  await ctx.db.transaction().execute(async (tx) => {
    const row = await loadConnection(tx, orgId, id);
    const enforced = await tx
      .selectFrom('sso_enforcement')
      .select('connection_id')
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (enforced?.connection_id === id) {
      throw badRequest(
        'connection_enforced',
        'This connection is the one members must sign in with. Turn SSO enforcement off (DELETE …/sso/enforcement) before deleting it.',
      );
    }
    const target = { type: 'sso_connection', id, name: row.name };
    await guardChange(
      tx,
      ctx,
      { orgId, change: 'sso_connection_deleted', target, acknowledge: query.acknowledgeWarnings === true },
      async () => {
        await tx.deleteFrom('sso_login_states').where('connection_id', '=', id).execute();
        await tx.deleteFrom('sso_assertion_ids').where('connection_id', '=', id).execute();
        await tx.deleteFrom('sso_identities').where('connection_id', '=', id).execute();
        await tx.deleteFrom('sso_connections').where('id', '=', id).execute();
        await recordAudit(tx, ctx, {
          orgId,
          action: 'sso.connection_deleted',
          targets: [target],
          metadata: { protocol: row.protocol },
        });
      },
    );
  });
}

export const ImpactInput = Type.Object(
  {
    changes: Type.Optional(Type.Omit(UpdateConnectionInput, ['acknowledgeWarnings'])),
    mapping: Type.Optional(RoleMappingInput),
  },
  { additionalProperties: false },
);
export type ImpactInput = Static<typeof ImpactInput>;

export const ImpactResponse = Type.Composite([
  Type.Object({
    checkedLogins: Type.Integer({
      description: 'Recent SSO sign-ins replayed (the latest per person and connection).',
    }),
  }),
  Type.Object(ImpactFields),
]);

/**
 * Before changing a connection or the organization's group-to-role mapping: the lockout guard's
 * answer for the proposal (who would lose access or a role, who is degraded, what fails already),
 * measured in a transaction that is rolled back. Nothing is changed.
 */
export async function connectionChangeImpact(
  ctx: Ctx,
  orgId: string,
  id: string,
  input: ImpactInput,
): Promise<ImpactView & { checkedLogins: number }> {
  await authorize(ctx, orgId, 'sso.manage');
  const current = await loadConnection(ctx.db, orgId, id);
  const changes = input.changes ?? {};
  const fetched =
    changes.saml?.metadataUrl && !changes.saml.metadataXml && current.protocol === 'saml'
      ? await fetchIdpMetadata(ctx.config, changes.saml.metadataUrl)
      : undefined;
  const proposed = applyUpdate(current, changes, ctx.clock.now().toISOString(), fetched);
  if (input.mapping) validateRoleMapping(input.mapping);
  const mapping = input.mapping;
  const impact = await previewChange(ctx, orgId, async (tx) => {
    const { id: _id, org_id: _org, created_at: _c, ...set } = proposed;
    await tx.updateTable('sso_connections').set(set).where('id', '=', id).where('org_id', '=', orgId).execute();
    if (mapping) await writeRoleMapping(tx, orgId, mapping, ctx.clock.now());
  });
  return { checkedLogins: impact.checked.ssoSignIns, ...impactView(impact) };
}
