import { recordAudit } from '../audit/record.js';
import { recordBadToken } from '../auth/bad-credentials.js';
import type { Ctx } from '../context.js';
import { type RateLimit, consumeRateLimit } from '../http/rate-limit.js';
import { complianceError, notVisible } from './errors.js';
import { type LiveKey, resolveComplianceKey } from './keys.js';
import { SCOPES, type Scope } from './scopes.js';
import { touchKey } from './store.js';

/** One authenticated Compliance API request: the key, the scope the endpoint needs, and a context acting as the key. */
export interface ComplianceCall {
  ctx: Ctx;
  key: LiveKey;
  scope: Scope;
}

/** The secret from `Authorization: Bearer pls_cmp_…` or `x-api-key: pls_cmp_…` (the original API's header). */
export function keySecretOf(headers: {
  authorization?: string | undefined;
  'x-api-key'?: string | string[] | undefined;
}): string {
  const auth = headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m)
      throw complianceError(
        'invalid_authorization_header',
        'Send the compliance key as "Authorization: Bearer pls_cmp_…" (or in the x-api-key header).',
      );
    return m[1] as string;
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim()) return apiKey.trim();
  throw complianceError(
    'authentication_required',
    'The Compliance API needs a compliance key: send "Authorization: Bearer pls_cmp_…" (or x-api-key). A primary owner of the top-level organization creates keys under Settings → Compliance API.',
  );
}

/**
 * Authenticates a compliance key: bad keys are throttled per client network like every other bad
 * bearer secret (src/auth/bad-credentials.ts); a live key is then held to its own rate limit.
 */
export async function authenticateKey(ctx: Ctx, secret: string): Promise<LiveKey> {
  const { db, clock, config, meta } = ctx;
  const now = clock.now();
  const key = await resolveComplianceKey(db, now, secret);
  if (!key) {
    await recordBadToken(db, clock, config, meta.ip);
    throw complianceError(
      'invalid_compliance_key',
      'This compliance key is not valid: it may be mistyped, expired or revoked. Ask a primary owner of the organization for a new one.',
    );
  }
  const rl: RateLimit = {
    bucket: 'compliance_key',
    key: key.id,
    limit: key.rateLimitPerMinute ?? config.complianceRateLimitPerMinute,
    windowSeconds: 60,
  };
  await consumeRateLimit(ctx, rl, {
    code: 'compliance_rate_limited',
    message: `Compliance key ${key.name} sent too many requests.`,
  });
  // Last use at minute granularity: polling does not turn every read into a key write.
  if (!key.lastUsedAt || key.lastUsedAt.slice(0, 16) !== now.toISOString().slice(0, 16))
    await touchKey(db, key.id, now.toISOString());
  return key;
}

/**
 * The scope check every endpoint makes, and the one audit event per request: `compliance_key.used`
 * with the scope, in the key's organization; refused requests are recorded as denied.
 */
export async function authorizeScope(
  base: Ctx,
  key: LiveKey,
  scope: Scope,
  route: { method: string; url: string },
): Promise<ComplianceCall> {
  const ctx: Ctx = { ...base, caller: { kind: 'compliance_key', keyId: key.id, orgId: key.rootOrgId } };
  const allowed = key.scopes.has(scope);
  await ctx.db.transaction().execute((tx) =>
    recordAudit(tx, ctx, {
      orgId: key.rootOrgId,
      action: 'compliance_key.used',
      outcome: allowed ? 'success' : 'denied',
      targets: [{ type: 'compliance_key', id: key.id, name: key.name }],
      metadata: {
        scope,
        method: route.method,
        route: route.url,
        ...(allowed ? {} : { reason: 'missing_scope', keyScopes: [...key.scopes].sort() }),
      },
    }),
  );
  if (!allowed) {
    throw complianceError(
      'missing_scope',
      `This endpoint needs the ${scope} scope (${SCOPES[scope]}), which compliance key ${key.name} does not have. Ask a primary owner for a key with ${scope}.`,
      {
        requiredScope: scope,
        keyScopes: [...key.scopes].sort(),
      },
    );
  }
  return { ctx, key, scope };
}

/**
 * The organizations a request may read: all the key sees, or those it names, each of which must be
 * visible (another organization, a sibling outside the key's list, or a made-up id: 404 alike).
 */
export function organizationsOf(call: ComplianceCall, requested: string[] | undefined): string[] {
  if (!requested) return call.key.orgIds;
  const visible = new Set(call.key.orgIds);
  for (const id of requested) if (!visible.has(id)) throw notVisible('organization');
  return requested;
}

export function assertOrgVisible(call: ComplianceCall, orgId: string): void {
  if (!call.key.orgIds.includes(orgId)) throw notVisible('organization');
}
