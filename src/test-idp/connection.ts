import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import { type ConnectionView, createConnection } from '../sso/connections.js';
import { testIdpOidcIssuer, testIdpSamlEntityId, testIdpSamlSsoUrl } from '../sso/test-idp-policy.js';
import { testIdpKey } from './keys.js';

export const CreateTestIdpConnectionInput = Type.Object(
  {
    protocol: Type.Union([Type.Literal('saml'), Type.Literal('oidc')]),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);
export type CreateTestIdpConnectionInput = Static<typeof CreateTestIdpConnectionInput>;

export function assertTestIdpEnabled(ctx: Pick<Ctx, 'config'>): void {
  if (!ctx.config.testIdp)
    throw new PalisadeError(
      404,
      'test_idp_disabled',
      "Palisade's built-in test identity provider is turned off on this installation. An operator can turn it on for a trial installation with PALISADE_TEST_IDP=true (never for one people rely on: its form accepts any address); otherwise connect a real identity provider.",
    );
}

/**
 * One click: a connection of the organization to the built-in test IdP, filled in by Palisade (the
 * IdP's entity id, SSO URL and certificate for SAML; issuer, a client id and a generated secret for
 * OIDC). Created, and audited (`sso.connection_created`, preset `palisade_test`), like any other.
 */
export async function createTestIdpConnection(
  ctx: Ctx,
  orgId: string,
  input: CreateTestIdpConnectionInput,
): Promise<ConnectionView> {
  await authorize(ctx, orgId, 'sso.manage');
  assertTestIdpEnabled(ctx);
  const name = input.name ?? `Palisade test IdP (${input.protocol === 'saml' ? 'SAML' : 'OIDC'})`;
  if (input.protocol === 'saml') {
    const key = await testIdpKey(ctx.db, ctx.config, ctx.clock);
    return createConnection(
      ctx,
      orgId,
      {
        protocol: 'saml',
        name,
        saml: {
          entityId: testIdpSamlEntityId(ctx.config),
          ssoUrl: testIdpSamlSsoUrl(ctx.config),
          certificates: [key.certificateBody],
        },
      },
      { testIdp: true },
    );
  }
  return createConnection(
    ctx,
    orgId,
    {
      protocol: 'oidc',
      name,
      oidc: {
        issuer: testIdpOidcIssuer(ctx.config),
        clientId: `tidp_${randomBytes(12).toString('base64url')}`,
        clientSecret: randomBytes(32).toString('base64url'),
        tokenAuthMethod: 'client_secret_basic',
      },
    },
    { testIdp: true },
  );
}
