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

/*
 * Answers the OpenAPI document does not describe yet (no success-response schema on main; branch
 * `boundaries` adds AuditChainVerification and AuditCheckpointList). Mirrors src/audit/verify.ts and
 * src/audit/checkpoints.ts; replace with OkOf<…> when the schema has them.
 */
export interface ChainVerification {
  orgId: string;
  ok: boolean;
  eventsChecked: number;
  firstSeq?: number;
  firstFailure?: {
    eventId: string | null;
    seq: number;
    problem: 'content_modified' | 'chain_broken' | 'sequence_gap' | 'head_mismatch' | 'anchor_invalid';
    explanation: string;
  };
}
export interface Checkpoint {
  id: string;
  payload: {
    seq: number;
    hash: string;
    firstSeq: number;
    count: number;
    kind: string;
    at: string;
    kid: string;
  };
  signature: string;
}
export interface SigningKey {
  kid: string;
  status: 'active' | 'retired';
  createdAt: string;
  retiredAt: string | null;
}
export interface CheckpointList {
  checkpoints: Checkpoint[];
  keys: SigningKey[];
}
