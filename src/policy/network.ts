import { BlockList, isIP } from 'node:net';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError, badRequest } from '../errors.js';
import { type Authorized, authorize } from '../orgs/authorize.js';
import { type WorkspacePolicy, lineageSettings, policyOf } from './policy.js';
import { cachedLookup } from '../cache/hot-cache.js';

/** Normalizes "1.2.3.4", "10.0.0.0/8", "2001:db8::/32" to CIDR form; throws a 400 naming the bad entry. */
export function parseCidr(entry: string): { network: string; prefix: number; type: 'ipv4' | 'ipv6'; cidr: string } {
  const [addrRaw, prefixRaw, extra] = entry.trim().split('/');
  const addr = addrRaw ?? '';
  const v = isIP(addr);
  const max = v === 4 ? 32 : 128;
  const prefix = prefixRaw === undefined ? max : /^\d{1,3}$/.test(prefixRaw) ? Number(prefixRaw) : NaN;
  if (v === 0 || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
    throw badRequest(
      'invalid_cidr',
      `"${entry}" is not an IPv4 or IPv6 address or CIDR range; write it like 203.0.113.0/24 or 2001:db8::/32.`,
      { entry },
    );
  }
  return { network: addr, prefix, type: v === 4 ? 'ipv4' : 'ipv6', cidr: `${addr}/${prefix}` };
}

export function allowlistMatcher(cidrs: string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const c of cidrs) {
    const p = parseCidr(c);
    list.addSubnet(p.network, p.prefix, p.type);
  }
  return (ip: string) => {
    // IPv4 clients seen through an IPv6 socket arrive as ::ffff:a.b.c.d.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
    const addr = mapped ?? ip;
    const v = isIP(addr);
    return v !== 0 && list.check(addr, v === 4 ? 'ipv4' : 'ipv6');
  };
}

export async function orgAllowlist(db: Queryable, orgId: string): Promise<string[] | null> {
  const r = await db
    .selectFrom('workspace_settings')
    .select('ip_allowlist')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  return r?.ip_allowlist ? (JSON.parse(r.ip_allowlist) as string[]) : null;
}

/** An organization's allowlist ready to check addresses against: null when it has none (every address is allowed). */
export interface CompiledAllowlist {
  entries: number;
  allows: (ip: string) => boolean;
}

export function compileAllowlist(list: string[] | null): CompiledAllowlist | null {
  return list && list.length > 0 ? { entries: list.length, allows: allowlistMatcher(list) } : null;
}

/** The allowlist check with the list already read (the gateway keeps it in its cache, src/gateway/hot-path.ts). */
export async function enforceCompiledAllowlist(
  ctx: Ctx,
  orgId: string,
  allowlist: CompiledAllowlist | null,
): Promise<void> {
  if (ctx.caller.kind === 'system' || !allowlist) return;
  const ip = ctx.meta.ip ?? 'unknown';
  if (!allowlist.allows(ip)) {
    // Only authenticated members of the organization get this far, so the refusal is attributable and audited.
    await ctx.db.transaction().execute((tx) =>
      recordAudit(tx, ctx, {
        orgId,
        action: 'network.request_blocked',
        outcome: 'denied',
        metadata: { ip, allowlistEntries: allowlist.entries },
      }),
    );
    throw new PalisadeError(
      403,
      'ip_not_allowed',
      `This organization accepts workspace and gateway requests only from its IP allowlist, and this request came from ${ip}. Connect from an allowed network, or ask an admin to add this address.`,
      {
        details: { ip },
      },
    );
  }
}

/** What a workspace operation may rely on once the caller is let in: who, where, and the policy that applies. */
export interface WorkspaceAccess extends Authorized {
  policy: WorkspacePolicy;
}

interface MemberAccess extends WorkspaceAccess {
  allowlist: CompiledAllowlist | null;
}

/**
 * The check every workspace and gateway operation makes: membership (404 for strangers), then network
 * policy. The organization's settings and its ancestors' are read once, for the allowlist and the
 * effective policy the operation then uses (retention, training opt-out).
 *
 * A member's access (role, lineage, settings) goes through the per-process cache
 * (src/cache/hot-cache.ts), which every change to memberships, users, organizations or workspace
 * settings empties (a new user or membership only when it is the caller's: migration 0028), in this
 * process at once and in the others when PostgreSQL's notification arrives: a removal or a suspension still takes effect on the next request. Refusals are never
 * cached, and the allowlist verdict is made afresh for each request's address. The value is shared
 * between requests: callers must not modify it.
 */
export async function authorizeWorkspace(ctx: Ctx, orgId: string): Promise<WorkspaceAccess> {
  const load = async (): Promise<MemberAccess> => {
    const a = await authorize(ctx, orgId, 'workspace.use');
    const settings = await lineageSettings(ctx.db, a.lineage);
    const own = settings.get(a.org.id)?.ip_allowlist;
    return {
      ...a,
      policy: policyOf(ctx.config, a.lineage, settings),
      allowlist: compileAllowlist(own ? (JSON.parse(own) as string[]) : null),
    };
  };
  const access =
    ctx.caller.kind === 'user'
      ? await cachedLookup(
          ctx.db,
          `workspace-access\n${ctx.caller.userId}\n${orgId}`,
          load,
          ctx.meta,
          // About the caller: their memberships in the lineage are all it reads of memberships and users.
          () => (ctx.caller.kind === 'user' ? ctx.caller.userId : undefined),
        )
      : await load();
  await enforceCompiledAllowlist(ctx, orgId, access.allowlist);
  return access;
}
