/*
 * Answers the OpenAPI document does not describe yet (these routes declare only their error
 * responses on main). Each mirrors the server function named beside it; when the API gets its
 * success schema, replace the type with the generated one (types.ts) and delete it here.
 */

interface ClaimNames {
  email: string;
  firstName: string;
  lastName: string;
  groups: string;
}

/** GET /api/v1/sso/presets (src/sso/presets.ts Preset). */
export interface Preset {
  id: 'okta' | 'entra' | 'google' | 'custom';
  name: string;
  oidc: ClaimNames;
  saml: ClaimNames;
  configure: string;
  docsUrl: string | null;
}

/** GET /api/v1/orgs/{orgId}/sso/enforcement (src/sso/enforcement.ts EnforcementView). */
export interface Enforcement {
  enforced: boolean;
  connectionId: string | null;
  enforcedAt: string | null;
  loginUrl: string | null;
}

/** GET /api/v1/me/totp (src/sso/totp.ts totpStatus). */
export interface MyTotp {
  enrolled: boolean;
  confirmedAt: string | null;
}

/** POST …/simulate (src/sso/simulate.ts SimulationResult; the nested plan parts as shown, not relied on). */
export interface Simulation {
  wouldSucceed: boolean;
  organization: { id: string; name: string };
  connection: { id: string; name: string; protocol: string };
  user: { id?: string; email?: string } | null;
  role: string | null;
  willCreate: { user: boolean; membership: boolean };
  failure: { code: string; check: string; expected?: unknown; received?: unknown; detail?: string } | null;
  explanation: string[];
}
