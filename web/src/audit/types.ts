import type { paths } from '../api/client';

/** The JSON body of a 200 answer, by path and method: stays right when operationIds are renamed. */
type OkOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer J } } };
}
  ? J
  : never;

export type AuditPage = OkOf<'/api/v1/orgs/{orgId}/audit-events', 'get'>;
export type AuditEvent = AuditPage['data'][number];
export type AuditSearchQuery = NonNullable<paths['/api/v1/orgs/{orgId}/audit-events']['get']['parameters']['query']>;
export type AuditAction = OkOf<'/api/v1/audit-actions', 'get'>['data'][number];
export type ExportFormat = NonNullable<
  NonNullable<paths['/api/v1/orgs/{orgId}/audit-events/export']['get']['parameters']['query']>['format']
>;

export type ChainVerification = OkOf<'/api/v1/orgs/{orgId}/audit-events/verify', 'get'>;
export type CheckpointList = OkOf<'/api/v1/orgs/{orgId}/audit-checkpoints', 'get'>;
export type Checkpoint = CheckpointList['checkpoints'][number];
export type SigningKey = CheckpointList['keys'][number];
