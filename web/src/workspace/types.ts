import type { paths } from '../api/client';

/** The JSON body of a 200 answer, by path and method: stays right when operationIds are renamed. */
type OkOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer J } } };
}
  ? J
  : never;
type BodyOf<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer J } };
}
  ? J
  : never;

export type WorkspaceSettings = OkOf<'/api/v1/orgs/{orgId}/workspace/settings', 'get'>;
export type SettingsInput = BodyOf<'/api/v1/orgs/{orgId}/workspace/settings', 'patch'>;
export type RetentionPreview = OkOf<'/api/v1/orgs/{orgId}/workspace/retention-preview', 'post'>;
export type Hold = OkOf<'/api/v1/orgs/{orgId}/legal-holds', 'get'>['data'][number];
export type Encryption = OkOf<'/api/v1/orgs/{orgId}/encryption', 'get'>;
export type Upstream = NonNullable<OkOf<'/api/v1/orgs/{orgId}/gateway/upstream', 'get'>['upstream']>;
export type UpstreamInput = BodyOf<'/api/v1/orgs/{orgId}/gateway/upstream', 'put'>;
export type GatewayKey = OkOf<'/api/v1/orgs/{orgId}/gateway/keys', 'get'>['data'][number];
export type UsageRow = OkOf<'/api/v1/orgs/{orgId}/gateway/usage', 'get'>['data'][number];
