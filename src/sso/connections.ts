import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { badRequest, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { assertDestinationAllowed } from '../net/outbound.js';
import { authorize } from '../orgs/authorize.js';
import { type IdpMetadata, certificateInfo, normalizeCertificate, parseIdpMetadata } from './idp-metadata.js';
import { fetchIdpMetadata } from './metadata-fetch.js';
import { sealConnectionSecret } from './secrets.js';
import { generateSpKeyPair } from './sp-keys.js';
import { type ClaimNames, PRESETS, type PresetId } from './presets.js';
import type { SsoConnectionsTable } from './tables.js';
import { TEST_IDP_PRESET, isTestIdpConnection } from './test-idp-policy.js';

export type ConnectionRow = SsoConnectionsTable;

const Preset = Type.Union([
  Type.Literal('okta'),
  Type.Literal('entra'),
  Type.Literal('google'),
  Type.Literal('custom'),
]);
const Claims = Type.Partial(
  Type.Object(
    {
      email: Type.String({ minLength: 1, maxLength: 300 }),
      firstName: Type.String({ minLength: 1, maxLength: 300 }),
      lastName: Type.String({ minLength: 1, maxLength: 300 }),
      groups: Type.String({ minLength: 1, maxLength: 300 }),
    },
    { additionalProperties: false },
  ),
);
const TokenAuthMethod = Type.Union(
  [
    Type.Literal('auto'),
    Type.Literal('client_secret_basic'),
    Type.Literal('client_secret_post'),
    Type.Literal('private_key_jwt'),
  ],
  {
    description:
      "How Palisade authenticates at the token endpoint. `auto` (default): the first of client_secret_basic, client_secret_post, private_key_jwt that discovery's token_endpoint_auth_methods_supported lists. private_key_jwt signs with the connection's own key, published at oidc.jwksUri.",
  },
);
const OidcInput = Type.Object(
  {
    issuer: Type.String({ maxLength: 500 }),
    clientId: Type.String({ minLength: 1, maxLength: 300 }),
    clientSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1000,
        description:
          "Stored encrypted with the organization's data key; never returned. Not needed with private_key_jwt.",
      }),
    ),
    tokenAuthMethod: Type.Optional(TokenAuthMethod),
  },
  { additionalProperties: false },
);
const SamlInput = Type.Object(
  {
    metadataXml: Type.Optional(
      Type.String({
        maxLength: 200_000,
        description: 'The IdP metadata document; fills entityId, ssoUrl and certificates.',
      }),
    ),
    metadataUrl: Type.Optional(
      Type.Union([
        Type.String({
          maxLength: 1000,
          description:
            'Where the IdP publishes its metadata; Palisade downloads it now and refreshes it every 6 hours (certificate rollover).',
        }),
        Type.Null(),
      ]),
    ),
    entityId: Type.Optional(Type.String({ maxLength: 500 })),
    ssoUrl: Type.Optional(Type.String({ maxLength: 1000 })),
    certificates: Type.Optional(
      Type.Array(Type.String({ maxLength: 10_000 }), {
        minItems: 1,
        maxItems: 2,
        description: 'One signing certificate, or two during a rollover.',
      }),
    ),
    allowSha1Signatures: Type.Optional(
      Type.Boolean({
        description:
          'Accept SHA-1 signatures and digests from this IdP (refused by default as too weak; changing it is audited). Use only for an IdP that cannot sign with SHA-256.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const CreateConnectionInput = Type.Object(
  {
    protocol: Type.Union([Type.Literal('oidc'), Type.Literal('saml')]),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    preset: Type.Optional(Preset),
    jitEnabled: Type.Optional(
      Type.Boolean({ description: 'Create the user and membership on first login (default true).' }),
    ),
    idpInitiated: Type.Optional(
      Type.Boolean({ description: 'SAML only: accept unsolicited responses (default false).' }),
    ),
    signAuthnRequests: Type.Optional(
      Type.Boolean({
        description:
          'SAML only: sign AuthnRequests (HTTP-Redirect binding signature, RSA-SHA256) with the connection\'s SP key. Default: on when the IdP metadata says WantAuthnRequestsSigned="true", off otherwise.',
      }),
    ),
    claims: Type.Optional(Claims),
    oidc: Type.Optional(OidcInput),
    saml: Type.Optional(SamlInput),
  },
  { additionalProperties: false },
);
export type CreateConnectionInput = Static<typeof CreateConnectionInput>;

export const UpdateConnectionInput = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
    jitEnabled: Type.Optional(Type.Boolean()),
    idpInitiated: Type.Optional(Type.Boolean()),
    signAuthnRequests: Type.Optional(
      Type.Boolean({
        description:
          'SAML only: sign AuthnRequests; cannot be turned off while the IdP metadata requires signed requests.',
      }),
    ),
    claims: Type.Optional(Claims),
    oidc: Type.Optional(Type.Partial(OidcInput)),
    saml: Type.Optional(SamlInput),
    acknowledgeWarnings: Type.Optional(
      Type.Boolean({
        description:
          'Apply the change even though the lockout guard lists people who would lose sign-in access or a role (recent sign-ins are replayed against every change, enforced or not).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type UpdateConnectionInput = Static<typeof UpdateConnectionInput>;

export const ConnectionView = Type.Object({
  id: Type.String(),
  orgId: Type.String(),
  protocol: Type.String(),
  name: Type.String(),
  preset: Type.String(),
  status: Type.String(),
  jitEnabled: Type.Boolean(),
  idpInitiated: Type.Boolean(),
  signAuthnRequests: Type.Boolean({
    description:
      'SAML: AuthnRequests are signed (the SP metadata says AuthnRequestsSigned="true" and publishes the signing certificate).',
  }),
  claims: Type.Object({
    email: Type.String(),
    firstName: Type.String(),
    lastName: Type.String(),
    groups: Type.String(),
  }),
  loginUrl: Type.String(),
  oidc: Type.Union([
    Type.Object({
      issuer: Type.String(),
      clientId: Type.String(),
      clientSecretSet: Type.Boolean(),
      redirectUri: Type.String(),
      tokenAuthMethod: TokenAuthMethod,
      jwksUri: Type.Union([
        Type.String({
          description:
            "Palisade's public key for private_key_jwt: register this URL (or the key it serves) at the provider.",
        }),
        Type.Null(),
      ]),
    }),
    Type.Null(),
  ]),
  saml: Type.Union([
    Type.Object({
      idpEntityId: Type.Union([Type.String(), Type.Null()]),
      idpSsoUrl: Type.Union([Type.String(), Type.Null()]),
      idpCertificates: Type.Array(
        Type.Object({ fingerprintSha256: Type.String(), subject: Type.String(), notAfter: Type.String() }),
      ),
      idpHeldCertificates: Type.Array(
        Type.Object({ fingerprintSha256: Type.String(), subject: Type.String(), notAfter: Type.String() }),
        {
          description:
            'Certificates the metadata refresh kept (also listed in idpCertificates) because recent sign-ins were signed with them and the IdP metadata no longer publishes them; released at the first sign-in signed with a new certificate.',
        },
      ),
      spEntityId: Type.String(),
      acsUrl: Type.String(),
      spMetadataUrl: Type.String(),
      idpMetadataUrl: Type.Union([Type.String(), Type.Null()]),
      idpMetadataRefreshedAt: Type.Union([Type.String(), Type.Null()]),
      idpMetadataError: Type.Union([Type.String(), Type.Null()]),
      spCertificate: Type.Union([Type.String(), Type.Null()]),
      idpWantsAuthnRequestsSigned: Type.Union([Type.Boolean(), Type.Null()], {
        description: 'WantAuthnRequestsSigned from the IdP metadata; null when the IdP was configured field by field.',
      }),
      allowSha1Signatures: Type.Boolean({
        description: 'SHA-1 signatures and digests are accepted from this IdP (off by default).',
      }),
    }),
    Type.Null(),
  ]),
  lastTestLoginAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type ConnectionView = Static<typeof ConnectionView>;

export const spEntityId = (ctx: Pick<Ctx, 'config'>, id: string) => `${ctx.config.publicUrl}/sso/saml/${id}`;
export const acsUrl = (ctx: Pick<Ctx, 'config'>, id: string) => `${ctx.config.publicUrl}/sso/saml/${id}/acs`;
export const oidcRedirectUri = (ctx: Pick<Ctx, 'config'>) => `${ctx.config.publicUrl}/sso/oidc/callback`;
export const oidcJwksUri = (ctx: Pick<Ctx, 'config'>, id: string) => `${ctx.config.publicUrl}/sso/oidc/${id}/jwks.json`;

/**
 * The OIDC token endpoint authentication a connection asks for: `auto` is stored as null (chosen
 * from discovery at each sign-in). private_key_jwt needs the connection's key; a client secret is
 * needed by the two client_secret methods, and by `auto` unless the provider then picks private_key_jwt.
 */
function applyTokenAuth(
  next: ConnectionRow,
  requested: NonNullable<CreateConnectionInput['oidc']>['tokenAuthMethod'] | undefined,
): void {
  if (requested !== undefined) next.oidc_token_auth_method = requested === 'auto' ? null : requested;
  if (next.oidc_token_auth_method === 'private_key_jwt' && next.sp_certificate === null) {
    throw badRequest(
      'oidc_client_key_missing',
      'This connection has no client key for private_key_jwt (it was created before Palisade generated one for OIDC connections). Create the connection again: it gets a key, published at oidc.jwksUri, to register at the provider.',
    );
  }
}

export function claimNames(row: ConnectionRow): ClaimNames {
  return JSON.parse(row.claims) as ClaimNames;
}

export function connectionView(ctx: Pick<Ctx, 'config'>, row: ConnectionRow): ConnectionView {
  const certs = row.saml_idp_certs ? (JSON.parse(row.saml_idp_certs) as string[]) : [];
  return {
    id: row.id,
    orgId: row.org_id,
    protocol: row.protocol,
    name: row.name,
    preset: row.preset,
    status: row.status,
    jitEnabled: row.jit_enabled === 1,
    idpInitiated: row.idp_initiated === 1,
    signAuthnRequests: row.saml_sign_authn_requests === 1,
    claims: claimNames(row),
    loginUrl: `${ctx.config.publicUrl}/sso/${row.id}/start`,
    oidc:
      row.protocol === 'oidc'
        ? {
            issuer: row.oidc_issuer ?? '',
            clientId: row.oidc_client_id ?? '',
            clientSecretSet: row.oidc_client_secret_ct !== null,
            redirectUri: oidcRedirectUri(ctx),
            tokenAuthMethod: row.oidc_token_auth_method ?? 'auto',
            jwksUri: row.sp_certificate !== null ? oidcJwksUri(ctx, row.id) : null,
          }
        : null,
    saml:
      row.protocol === 'saml'
        ? {
            idpEntityId: row.saml_idp_entity_id,
            idpSsoUrl: row.saml_idp_sso_url,
            idpCertificates: certs.map(certificateInfo),
            idpHeldCertificates: (row.saml_held_certs ? (JSON.parse(row.saml_held_certs) as string[]) : []).map(
              certificateInfo,
            ),
            spEntityId: spEntityId(ctx, row.id),
            acsUrl: acsUrl(ctx, row.id),
            spMetadataUrl: `${ctx.config.publicUrl}/sso/saml/${row.id}/metadata`,
            idpMetadataUrl: row.saml_metadata_url,
            idpMetadataRefreshedAt: row.saml_metadata_refreshed_at,
            idpMetadataError: row.saml_metadata_error,
            spCertificate: row.sp_certificate,
            idpWantsAuthnRequestsSigned:
              row.saml_idp_wants_signed_requests === null ? null : row.saml_idp_wants_signed_requests === 1,
            allowSha1Signatures: row.saml_allow_sha1 === 1,
          }
        : null,
    lastTestLoginAt: row.last_test_login_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function checkUrl(value: string, field: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw badRequest(
      'invalid_url',
      `${field} "${value.slice(0, 100)}" is not a URL; use the full https:// address from your identity provider.`,
    );
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw badRequest('invalid_url', `${field} must be an https:// URL.`);
  return value;
}

type SamlFields = Pick<ConnectionRow, 'saml_idp_entity_id' | 'saml_idp_sso_url' | 'saml_idp_certs'> &
  Partial<Pick<ConnectionRow, 'saml_idp_wants_signed_requests' | 'saml_allow_sha1'>>;

/** Reads the SAML settings: from uploaded metadata, from metadata already fetched from a URL, or given field by field. */
function samlFields(input: NonNullable<CreateConnectionInput['saml']>, fetched?: IdpMetadata): SamlFields {
  const md = fetched ?? (input.metadataXml ? parseIdpMetadata(input.metadataXml) : undefined);
  const entityId = input.entityId ?? md?.entityId;
  const ssoUrl = input.ssoUrl ?? md?.ssoUrl;
  const certs = input.certificates ? input.certificates.map(normalizeCertificate) : md?.certificates;
  if (!entityId || !ssoUrl || !certs?.length) {
    const missing = [!entityId && 'entityId', !ssoUrl && 'ssoUrl', !certs?.length && 'certificates']
      .filter(Boolean)
      .join(', ');
    throw badRequest(
      'saml_config_incomplete',
      `The SAML connection is missing ${missing}. Upload the IdP metadata XML as saml.metadataXml, or give entityId, ssoUrl and certificates.`,
    );
  }
  return {
    saml_idp_entity_id: entityId,
    saml_idp_sso_url: checkUrl(ssoUrl, 'saml.ssoUrl'),
    saml_idp_certs: JSON.stringify(certs),
    ...(input.allowSha1Signatures !== undefined ? { saml_allow_sha1: input.allowSha1Signatures ? 1 : 0 } : {}),
    // Only metadata says whether the IdP wants signed requests; fields entered by hand leave it as it was.
    ...(md ? { saml_idp_wants_signed_requests: md.wantAuthnRequestsSigned ? 1 : 0 } : {}),
  };
}

/**
 * Decides whether a SAML connection signs its AuthnRequests: the admin's explicit choice, else
 * what it was, turned on when the IdP metadata requires signed requests. Turning it off while the
 * IdP requires it is refused (the IdP would reject every sign-in), and signing needs the SP key.
 */
function applySigning(next: ConnectionRow, requested: boolean | undefined): void {
  if (next.protocol !== 'saml') {
    if (requested)
      throw badRequest(
        'sign_authn_requests_not_supported',
        'Signed AuthnRequests apply to SAML connections only; OIDC requests are protected by PKCE and the client secret.',
      );
    return;
  }
  const idpRequires = next.saml_idp_wants_signed_requests === 1;
  if (requested === false && idpRequires) {
    throw badRequest(
      'idp_requires_signed_authn_requests',
      'The identity provider\'s metadata says WantAuthnRequestsSigned="true", so it refuses unsigned sign-in requests. Keep signAuthnRequests on, or change the setting at the identity provider and upload its new metadata first.',
    );
  }
  if (requested !== undefined) next.saml_sign_authn_requests = requested ? 1 : 0;
  else if (idpRequires && next.sp_certificate !== null) next.saml_sign_authn_requests = 1;
  if (requested === true && next.sp_certificate === null) {
    throw badRequest(
      'sp_key_missing',
      'This SAML connection has no service-provider key to sign requests with. Create the connection again (it gets a new SP key) and give the identity provider the new SP metadata.',
    );
  }
}

export async function loadConnection(db: Queryable, orgId: string, id: string): Promise<ConnectionRow> {
  const row = await db
    .selectFrom('sso_connections')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) throw notFound('SSO connection');
  return row;
}

/**
 * `internal.testIdp`: the connection points at Palisade's built-in test IdP (src/test-idp/, which
 * fills the settings itself): stored with the test-IdP preset, and its issuer — Palisade's own URL,
 * not one an admin chose — is not put through the outbound policy here (./test-idp-policy.ts).
 */
export async function createConnection(
  ctx: Ctx,
  orgId: string,
  input: CreateConnectionInput,
  internal: { testIdp?: boolean } = {},
): Promise<ConnectionView> {
  await authorize(ctx, orgId, 'sso.manage');
  const preset = PRESETS[(input.preset ?? 'custom') as PresetId];
  const claims: ClaimNames = { ...(input.protocol === 'oidc' ? preset.oidc : preset.saml), ...(input.claims ?? {}) };
  const now = ctx.clock.now();
  const at = now.toISOString();
  const row: ConnectionRow = {
    id: newId('sso', now),
    org_id: orgId,
    protocol: input.protocol,
    name: input.name.trim(),
    preset: internal.testIdp ? TEST_IDP_PRESET : preset.id,
    status: 'active',
    jit_enabled: input.jitEnabled === false ? 0 : 1,
    idp_initiated: input.idpInitiated ? 1 : 0,
    claims: JSON.stringify(claims),
    oidc_issuer: null,
    oidc_client_id: null,
    oidc_client_secret_ct: null,
    oidc_client_secret_key_version: null,
    saml_idp_entity_id: null,
    saml_idp_sso_url: null,
    saml_idp_certs: null,
    saml_metadata_url: null,
    saml_metadata_refreshed_at: null,
    saml_metadata_error: null,
    saml_sign_authn_requests: 0,
    saml_idp_wants_signed_requests: null,
    saml_held_certs: null,
    saml_allow_sha1: 0,
    oidc_token_auth_method: null,
    sp_private_key_ct: null,
    sp_private_key_key_version: null,
    sp_certificate: null,
    last_test_login_at: null,
    last_test_login_by: null,
    created_at: at,
    updated_at: at,
  };
  if (input.protocol === 'oidc') {
    if (!input.oidc)
      throw badRequest(
        'oidc_config_required',
        'An OIDC connection needs oidc.issuer, oidc.clientId and oidc.clientSecret from the application you registered in your identity provider.',
      );
    if (input.saml)
      throw badRequest('wrong_protocol_settings', 'This is an OIDC connection; remove the saml settings.');
    row.oidc_issuer = checkUrl(input.oidc.issuer, 'oidc.issuer');
    if (!internal.testIdp) await assertDestinationAllowed(ctx.config, new URL(row.oidc_issuer).hostname);
    row.oidc_client_id = input.oidc.clientId;
    if (input.idpInitiated)
      throw badRequest('idp_initiated_not_supported', 'IdP-initiated login applies to SAML connections only.');
    if (input.oidc.clientSecret === undefined && input.oidc.tokenAuthMethod !== 'private_key_jwt') {
      throw badRequest(
        'oidc_config_required',
        'An OIDC connection needs oidc.clientSecret from the application you registered at the provider (or oidc.tokenAuthMethod "private_key_jwt", with the key Palisade publishes at oidc.jwksUri).',
      );
    }
  }
  let spPrivateKeyPem: string | null = null;
  if (input.protocol === 'oidc') {
    // Every OIDC connection gets a key pair too, so private_key_jwt can be turned on without re-creating it.
    const sp = await generateSpKeyPair(`Palisade RP ${row.id}`, now);
    spPrivateKeyPem = sp.privateKeyPem;
    row.sp_certificate = sp.certificatePem;
  }
  if (input.protocol === 'saml') {
    if (input.oidc) throw badRequest('wrong_protocol_settings', 'This is a SAML connection; remove the oidc settings.');
    if (!input.saml) {
      // IdPs ask for Palisade's ACS URL and entity id before they show their own metadata: a draft
      // has them (and its SP metadata) at once; it signs nobody in until the IdP's side is added.
      row.status = 'draft';
    } else {
      const fetched =
        input.saml.metadataUrl && !input.saml.metadataXml
          ? await fetchIdpMetadata(ctx.config, input.saml.metadataUrl)
          : undefined;
      Object.assign(row, samlFields(input.saml, fetched));
      if (fetched) {
        row.saml_metadata_url = input.saml.metadataUrl ?? null;
        row.saml_metadata_refreshed_at = at;
      }
    }
    const sp = await generateSpKeyPair(`Palisade SP ${row.id}`, now);
    spPrivateKeyPem = sp.privateKeyPem;
    row.sp_certificate = sp.certificatePem;
  }
  applySigning(row, input.signAuthnRequests);
  if (input.protocol === 'oidc') applyTokenAuth(row, input.oidc?.tokenAuthMethod);
  await ctx.db.transaction().execute(async (tx) => {
    // Secrets are sealed with the organization's data key in the transaction that stores them.
    if (input.protocol === 'oidc' && input.oidc?.clientSecret !== undefined) {
      const s = await sealConnectionSecret(tx, ctx.config, now, row, 'oidc_client_secret', input.oidc.clientSecret);
      row.oidc_client_secret_ct = s.ct;
      row.oidc_client_secret_key_version = s.keyVersion;
    }
    if (spPrivateKeyPem !== null) {
      const s = await sealConnectionSecret(tx, ctx.config, now, row, 'sp_private_key', spPrivateKeyPem);
      row.sp_private_key_ct = s.ct;
      row.sp_private_key_key_version = s.keyVersion;
    }
    await tx.insertInto('sso_connections').values(row).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'sso.connection_created',
      targets: [{ type: 'sso_connection', id: row.id, name: row.name }],
      metadata: {
        protocol: row.protocol,
        preset: row.preset,
        jitEnabled: row.jit_enabled === 1,
        idpInitiated: row.idp_initiated === 1,
        issuer: row.oidc_issuer,
        idpEntityId: row.saml_idp_entity_id,
        ...(row.protocol === 'saml'
          ? {
              signAuthnRequests: row.saml_sign_authn_requests === 1,
              idpWantsAuthnRequestsSigned: row.saml_idp_wants_signed_requests === 1,
              allowSha1Signatures: row.saml_allow_sha1 === 1,
            }
          : {}),
        ...(row.protocol === 'oidc' ? { tokenAuthMethod: row.oidc_token_auth_method ?? 'auto' } : {}),
      },
    });
  });
  return connectionView(ctx, row);
}

export async function listConnections(ctx: Ctx, orgId: string): Promise<{ data: ConnectionView[] }> {
  await authorize(ctx, orgId, 'sso.manage');
  const rows = await ctx.db
    .selectFrom('sso_connections')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('id')
    .execute();
  return { data: rows.map((r) => connectionView(ctx, r)) };
}

export async function getConnection(ctx: Ctx, orgId: string, id: string): Promise<ConnectionView> {
  await authorize(ctx, orgId, 'sso.manage');
  return connectionView(ctx, await loadConnection(ctx.db, orgId, id));
}

/**
 * The row an update would produce; pure apart from parsing, so the enforcement check can simulate it
 * first. A new client secret is not part of it: sealing needs the data key, so `updateConnection`
 * seals `input.oidc.clientSecret` in its transaction.
 */
export function applyUpdate(
  row: ConnectionRow,
  input: UpdateConnectionInput,
  at: string,
  fetched?: IdpMetadata,
): ConnectionRow {
  if (
    isTestIdpConnection(row) &&
    (input.saml || input.oidc?.issuer !== undefined || input.oidc?.clientId !== undefined)
  )
    throw badRequest(
      'test_idp_connection_fixed',
      "This connection points at Palisade's built-in test identity provider, whose settings Palisade fills in. To use another identity provider, create a new connection.",
    );
  const next: ConnectionRow = { ...row, updated_at: at };
  if (input.name !== undefined) next.name = input.name.trim();
  if (input.status !== undefined) next.status = input.status;
  if (input.jitEnabled !== undefined) next.jit_enabled = input.jitEnabled ? 1 : 0;
  if (input.idpInitiated !== undefined) {
    if (row.protocol !== 'saml' && input.idpInitiated)
      throw badRequest('idp_initiated_not_supported', 'IdP-initiated login applies to SAML connections only.');
    next.idp_initiated = input.idpInitiated ? 1 : 0;
  }
  if (input.claims) next.claims = JSON.stringify({ ...claimNames(row), ...input.claims });
  if (input.oidc) {
    if (row.protocol !== 'oidc')
      throw badRequest('wrong_protocol_settings', 'This is a SAML connection; send saml settings.');
    if (input.oidc.issuer !== undefined) next.oidc_issuer = checkUrl(input.oidc.issuer, 'oidc.issuer');
    if (input.oidc.clientId !== undefined) next.oidc_client_id = input.oidc.clientId;
    applyTokenAuth(next, input.oidc.tokenAuthMethod);
  }
  if (input.saml) {
    if (row.protocol !== 'saml')
      throw badRequest('wrong_protocol_settings', 'This is an OIDC connection; send oidc settings.');
    if (input.saml.metadataUrl !== undefined) {
      next.saml_metadata_url = input.saml.metadataUrl;
      if (fetched) next.saml_metadata_refreshed_at = at;
      next.saml_metadata_error = null;
    }
    const merged = {
      ...(input.saml.metadataXml || fetched
        ? {}
        : {
            entityId: row.saml_idp_entity_id ?? undefined,
            ssoUrl: row.saml_idp_sso_url ?? undefined,
            certificates: row.saml_idp_certs ? (JSON.parse(row.saml_idp_certs) as string[]) : undefined,
          }),
      ...input.saml,
    };
    Object.assign(next, samlFields(merged, fetched));
    // Certificates the admin sets (by hand or by metadata) replace a hold the refresh job placed.
    if (input.saml.certificates || input.saml.metadataXml || fetched) next.saml_held_certs = null;
    // Another IdP entered by hand: what the old IdP's metadata said about signed requests no longer applies.
    if (!input.saml.metadataXml && !fetched && next.saml_idp_entity_id !== row.saml_idp_entity_id)
      next.saml_idp_wants_signed_requests = null;
  }
  if (row.status === 'draft') {
    // A draft becomes a working connection once the IdP's side is known (unless it is also disabled).
    const complete = next.saml_idp_entity_id !== null && next.saml_idp_sso_url !== null && next.saml_idp_certs !== null;
    if (complete) next.status = input.status ?? 'active';
    else if (input.status === 'active')
      throw badRequest(
        'saml_config_required',
        'This draft connection has no IdP metadata yet: send saml.metadataXml or saml.metadataUrl (or entityId, ssoUrl and certificates) from your identity provider first.',
      );
    else next.status = 'draft';
  }
  applySigning(next, input.signAuthnRequests);
  return next;
}

/** Which fields changed, for the audit log: names only, never a value (and never a secret). */
export function changedFields(before: ConnectionRow, after: ConnectionRow): string[] {
  return (Object.keys(after) as (keyof ConnectionRow)[]).filter((k) => k !== 'updated_at' && before[k] !== after[k]);
}
