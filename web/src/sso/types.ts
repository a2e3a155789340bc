import type { paths } from '../api/client';

/* The SSO pages' API types, read from the generated schema by path and method. Answers without a schema yet: pending.ts. */
type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never;
type Conn = '/api/v1/orgs/{orgId}/sso/connections/{connectionId}';

export type Connection = Json<paths[Conn]['get']['responses'][200]>;
export type CreateConnection = Json<NonNullable<paths['/api/v1/orgs/{orgId}/sso/connections']['post']['requestBody']>>;
export type UpdateConnection = Json<NonNullable<paths[Conn]['patch']['requestBody']>>;
export type Impact = Json<paths[`${Conn}/impact`]['post']['responses'][200]>;
export type PresetId = NonNullable<CreateConnection['preset']>;
export type EnforcementDryRun = Json<paths['/api/v1/orgs/{orgId}/sso/enforcement/dry-run']['post']['responses'][200]>;
export type BreakGlassOwners = Json<paths['/api/v1/orgs/{orgId}/sso/break-glass']['get']['responses'][200]>;
