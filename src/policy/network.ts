import { BlockList, isIP } from 'node:net';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError, badRequest } from '../errors.js';
import { type Authorized, authorize } from '../orgs/authorize.js';

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

export async function enforceIpAllowlist(ctx: Ctx, orgId: string): Promise<void> {
  if (ctx.caller.kind === 'system') return;
  await enforceCompiledAllowlist(ctx, orgId, compileAllowlist(await orgAllowlist(ctx.db, orgId)));
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

/** The check every workspace and gateway operation makes: membership (404 for strangers), then network policy. */
export async function authorizeWorkspace(ctx: Ctx, orgId: string): Promise<Authorized> {
  const a = await authorize(ctx, orgId, 'workspace.use');
  await enforceIpAllowlist(ctx, orgId);
  return a;
}
