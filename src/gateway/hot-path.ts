import { effectiveContentTier } from '../audit/content-privacy.js';
import { cachedLookup } from '../cache/hot-cache.js';
import type { Ctx } from '../context.js';
import { authorizeWorkspace } from '../policy/network.js';
import { type WorkspacePolicy, effectivePolicy } from '../policy/policy.js';
import { type UpstreamTarget, loadUpstream } from './upstream.js';

/**
 * The reads every gateway request makes, through the per-process cache (src/cache/hot-cache.ts):
 * what rarely changes is read once and kept until the database reports a change (migration 0023,
 * src/cache/invalidation.ts). Each answers exactly what its uncached counterpart answers; a refusal
 * (a stranger, an address outside the allowlist, no provider) is decided afresh every time.
 * Cached values are shared between requests: callers must not modify them. Each lookup is scoped
 * to its request (`ctx.meta`): one invalidation check per request (src/cache/hot-cache.ts).
 */

/** authorizeWorkspace for the gateway: membership, role and allowlist come from the per-process cache. */
export async function authorizeGatewayCaller(ctx: Ctx, orgId: string): Promise<void> {
  await authorizeWorkspace(ctx, orgId);
}

export function gatewayPolicy(ctx: Ctx, orgId: string): Promise<WorkspacePolicy> {
  return cachedLookup(ctx.db, `policy\n${orgId}`, () => effectivePolicy(ctx.db, ctx.config, orgId), ctx.meta);
}

/** The provider with its credential decrypted: held in memory at most HOT_CACHE_TTL_MS (and until any change). */
export function gatewayUpstream(ctx: Ctx, orgId: string): Promise<UpstreamTarget> {
  return cachedLookup(ctx.db, `upstream\n${orgId}`, () => loadUpstream(ctx.db, ctx.config, orgId), ctx.meta);
}

/** How many characters of a prompt the audit event carries (null: metadata only). */
export async function gatewayExcerptChars(ctx: Ctx, orgId: string): Promise<number | null> {
  const tier = await cachedLookup(
    ctx.db,
    `content-tier\n${orgId}`,
    () => effectiveContentTier(ctx.db, orgId),
    ctx.meta,
  );
  return tier.promptExcerptChars;
}
