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

import type { Created, Ok } from '../api/client';

/** A destination with its delivery health, as the API answers it. */
export type StreamView = Ok<'getAuditStream'>;
/** A new destination; a webhook's signing secret is in the answer once. */
export type CreatedStream = Created<'createAuditStream'>;
