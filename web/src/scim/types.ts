import type { Ok, paths } from '../api/client';

/*
 * The SCIM pages' API types, read from the generated schema by path and method (so they survive a
 * rename of operationIds). The answers the OpenAPI document does not describe yet are in pending.ts.
 */
type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never;
type Dirs = '/api/v1/orgs/{orgId}/scim/directories';
type Dir = '/api/v1/orgs/{orgId}/scim/directories/{directoryId}';

export type Directory = Json<paths[Dir]['get']['responses'][200]>;
export type DirectoryWithToken = Json<paths[Dirs]['post']['responses'][201]>;
export type SyncEntry = Json<paths[`${Dir}/sync-log`]['get']['responses'][200]>['data'][number];
export type SyncLogQuery = NonNullable<paths[`${Dir}/sync-log`]['get']['parameters']['query']>;
export type DirectoryUser = Json<paths[`${Dir}/users`]['get']['responses'][200]>['data'][number];
export type RoleMappingInput = NonNullable<
  Json<NonNullable<paths[`${Dir}/role-preview`]['post']['requestBody']>>['mapping']
>;
/** PUT /role-mapping answers the saved mapping with the lockout guard's findings and the pending SCIM changes. */
export type SavedRoleMapping = Json<paths['/api/v1/orgs/{orgId}/role-mapping']['put']['responses'][200]>;
/** GET /role-mapping answers the same mapping fields (src/orgs/role-mapping.ts RoleMapping). */
export type RoleMapping = Pick<SavedRoleMapping, 'requiredPrefix' | 'defaultRole' | 'rules'>;
export type MappableRole = RoleMappingInput['rules'][number]['role'];
export type { Ok };
