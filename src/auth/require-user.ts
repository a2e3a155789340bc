import type { Caller, Ctx } from '../context.js';
import { unauthenticated } from '../errors.js';

export type UserCaller = Extract<Caller, { kind: 'user' }>;

export function requireUser(ctx: Pick<Ctx, 'caller'>): UserCaller {
  if (ctx.caller.kind !== 'user')
    throw unauthenticated(
      'authentication_required',
      'Sign in, or send a personal API token as "Authorization: Bearer pls_pat_…".',
    );
  return ctx.caller;
}
