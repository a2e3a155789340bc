import { type SchemaOptions, Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { badRequest } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import { MappingResultSchema } from '../orgs/role-mapping.js';
import { claimNames, loadConnection } from './connections.js';
import { SsoFailure } from './diagnosis.js';
import { type Identity, type LoginPlan, identityFrom, planLogin } from './provision.js';
import { finishSaml } from './saml.js';

export const SimulateInput = Type.Object(
  {
    claims: Type.Optional(
      Type.Record(Type.String({ maxLength: 300 }), Type.Unknown(), {
        description:
          'OIDC claims or SAML attributes as the IdP would send them, e.g. {"email":"a@x.com","groups":["acme-admins"]}.',
      }),
    ),
    samlResponse: Type.Optional(
      Type.String({
        maxLength: 500_000,
        description: 'A base64 SAMLResponse copied from a browser (SAML connections).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type SimulateInput = Static<typeof SimulateInput>;

const Nullable = <T extends TSchema>(t: T, options?: SchemaOptions) => Type.Union([t, Type.Null()], options);
const RoleSchema = Type.Union([Type.Literal('primary_owner'), Type.Literal('admin'), Type.Literal('member')]);

export const SimulationView = Type.Object(
  {
    wouldSucceed: Type.Boolean(),
    organization: Type.Object({ id: Type.String(), name: Type.String() }),
    connection: Type.Object({ id: Type.String(), name: Type.String(), protocol: Type.String() }),
    identity: Nullable(
      Type.Object({
        subject: Type.String(),
        email: Type.String(),
        firstName: Nullable(Type.String()),
        lastName: Nullable(Type.String()),
        groups: Type.Array(Type.String()),
        stableSubject: Type.Optional(Type.Boolean()),
      }),
    ),
    user: Nullable(
      Type.Object({
        id: Nullable(Type.String()),
        exists: Type.Boolean(),
        status: Nullable(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
      }),
    ),
    matchedBy: Nullable(Type.Union([Type.Literal('subject'), Type.Literal('email')]), {
      description: "How the account was found: by the IdP's stable subject, by email, or not at all (JIT creates it).",
    }),
    emailChange: Nullable(Type.Object({ from: Type.String(), to: Type.String() })),
    role: Nullable(RoleSchema),
    roleChange: Nullable(Type.Object({ from: Nullable(RoleSchema), to: RoleSchema })),
    willCreate: Type.Object({ user: Type.Boolean(), membership: Type.Boolean() }),
    mapping: Nullable(
      Type.Composite([
        MappingResultSchema,
        Type.Object({ configured: Type.Boolean(), requiredPrefix: Nullable(Type.String()) }),
      ]),
    ),
    domainCapture: Nullable(
      Type.Object({
        domain: Type.String(),
        capturedBy: Type.Union([
          Type.Literal('this_organization'),
          Type.Literal('same_company'),
          Type.Literal('another_organization'),
        ]),
        autoJoin: Type.Boolean(),
        domainId: Nullable(Type.String()),
      }),
    ),
    failure: Nullable(
      Type.Object({
        code: Type.String(),
        check: Type.String(),
        expected: Type.Optional(Type.Unknown()),
        received: Type.Optional(Type.Unknown()),
        detail: Type.Optional(Type.String()),
      }),
    ),
    explanation: Type.Array(Type.String()),
  },
  { $id: 'SsoSimulationView' },
);

export interface SimulationResult {
  wouldSucceed: boolean;
  organization: { id: string; name: string };
  connection: { id: string; name: string; protocol: string };
  identity: Identity | null;
  user: LoginPlan['user'] | null;
  /** How the account was found (by the IdP's stable subject, or by email), and an address change it would apply. */
  matchedBy: LoginPlan['matchedBy'];
  emailChange: LoginPlan['emailChange'];
  role: LoginPlan['role'];
  roleChange: LoginPlan['roleChange'];
  willCreate: { user: boolean; membership: boolean };
  mapping: LoginPlan['mapping'] | null;
  domainCapture: LoginPlan['domainCapture'];
  failure: { code: string; check: string; expected?: unknown; received?: unknown; detail?: string } | null;
  explanation: string[];
}

/** A dry run of a login through a connection: the same decisions as a real login, and nothing is written. */
export async function simulateLogin(
  ctx: Ctx,
  orgId: string,
  connectionId: string,
  input: SimulateInput,
): Promise<SimulationResult> {
  const { org } = await authorize(ctx, orgId, 'sso.manage');
  const conn = await loadConnection(ctx.db, orgId, connectionId);
  if ((input.claims ? 1 : 0) + (input.samlResponse ? 1 : 0) !== 1)
    throw badRequest(
      'simulate_input_required',
      'Send either "claims" (what the IdP would send) or "samlResponse" (a pasted base64 SAML response), not both.',
    );
  if (input.samlResponse && conn.protocol !== 'saml')
    throw badRequest(
      'wrong_protocol_settings',
      'A pasted SAML response can only be simulated on a SAML connection; send "claims" instead.',
    );
  const base = {
    organization: { id: org.id, name: org.name },
    connection: { id: conn.id, name: conn.name, protocol: conn.protocol },
  };
  let identity: Identity;
  try {
    if (input.samlResponse) {
      const got = await finishSaml(ctx, conn, input.samlResponse, { dryRun: true });
      identity = {
        ...got.identity,
        stableSubject: got.nameIdFormat === 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      };
    } else identity = identityFrom(input.claims ?? {}, claimNames(conn), 'simulated');
  } catch (err) {
    if (!(err instanceof SsoFailure)) throw err;
    return {
      ...base,
      wouldSucceed: false,
      identity: null,
      user: null,
      matchedBy: null,
      emailChange: null,
      role: null,
      roleChange: null,
      willCreate: { user: false, membership: false },
      mapping: null,
      domainCapture: null,
      failure: { code: err.code, ...err.diagnosis },
      explanation: [err.publicMessage],
    };
  }
  const plan = await planLogin(ctx.db, conn, identity);
  return {
    ...base,
    wouldSucceed: plan.allowed,
    identity,
    user: plan.user,
    matchedBy: plan.matchedBy,
    emailChange: plan.emailChange,
    role: plan.role,
    roleChange: plan.roleChange,
    willCreate: { user: plan.allowed && !plan.user.exists, membership: plan.allowed && !plan.membership.exists },
    mapping: plan.mapping,
    domainCapture: plan.domainCapture,
    failure: plan.refusal ? { code: plan.refusal.code, check: 'access decision', detail: plan.refusal.message } : null,
    explanation: plan.explanation,
  };
}
