import type { paths } from '../api/client';

type BodyOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer J } };
}
  ? J
  : never;

export type CreateStreamInput = BodyOf<'/api/v1/orgs/{orgId}/audit-streams', 'post'>;
export type UpdateStreamInput = BodyOf<'/api/v1/orgs/{orgId}/audit-streams/{streamId}', 'patch'>;
export type StreamKind = CreateStreamInput['kind'];
export type StreamFormat = NonNullable<CreateStreamInput['format']>;

/*
 * Answers the OpenAPI document does not describe yet: the audit-streams routes have no
 * success-response schema on main (branch `boundaries` is adding them). These mirror
 * src/streams/streams.ts StreamView and src/streams/transports.ts DeliveryResult; replace them with
 * the generated types once `npm run web:api` has them.
 */
export interface StreamView {
  id: string;
  name: string;
  kind: StreamKind;
  format: string;
  settings: {
    url?: string;
    host?: string;
    port?: number;
    serverName?: string;
    index?: string;
    sourcetype?: string;
    service?: string;
    tags?: string;
    caConfigured?: boolean;
  };
  secretHint: string | null;
  status: 'active' | 'paused' | 'dead_letter';
  health: {
    state: 'healthy' | 'retrying' | 'circuit_open' | 'stalled' | 'dead_letter' | 'paused' | 'idle';
    cursorSeq: number;
    headSeq: number;
    lag: number;
    consecutiveFailures: number;
    nextAttemptAt: string | null;
    lastSuccessAt: string | null;
    lastError: string | null;
    lastErrorAt: string | null;
    stalled: { code: string; since: string; reason: string } | null;
  };
  createdAt: string;
}
export interface CreatedStream {
  stream: StreamView;
  webhookSecret?: string;
}
export type UpdatedStream = StreamView & { webhookSecret?: string };
export interface TestResult {
  ok: boolean;
  permanent?: boolean;
  status?: number;
  response?: string;
  error?: string;
  eventId: string;
}
