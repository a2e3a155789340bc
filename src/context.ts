import type { Clock } from './clock.js';
import type { PalisadeConfig } from './config.js';
import type { Db } from './db/schema.js';

/** Who is asking. The organization a caller acts in is never part of this: it comes from the authorized route. */
export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'system'; name: string }
  | {
      kind: 'user';
      userId: string;
      email: string;
      via: 'session' | 'api_token';
      /** Session or API token id: lets a session be revoked and an action be traced to its credential. */
      credentialId: string;
    }
  /**
   * A Compliance API key (src/compliance/): an organization's credential, not a person's. It is
   * not a user, so `authorize()` refuses it; the Compliance API checks its scopes and tree itself.
   */
  | { kind: 'compliance_key'; keyId: string; orgId: string };

export interface RequestMeta {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

/** Everything an operation needs. Plain data: no Fastify types, so operations are testable without HTTP. */
export interface Ctx {
  db: Db;
  clock: Clock;
  config: PalisadeConfig;
  caller: Caller;
  meta: RequestMeta;
}

export function systemCtx(base: Pick<Ctx, 'db' | 'clock' | 'config'>, name = 'cli'): Ctx {
  return {
    ...base,
    caller: { kind: 'system', name },
    meta: { requestId: `${name}-${Date.now().toString(36)}`, ip: null, userAgent: null },
  };
}

export function withCaller(ctx: Ctx, caller: Caller): Ctx {
  return { ...ctx, caller };
}
