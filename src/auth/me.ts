import type { Ctx } from '../context.js';
import type { Role } from '../db/schema.js';
import { notFound } from '../errors.js';
import { type PublicUser, findUserById, publicUser } from '../users/store.js';
import { requireUser } from './require-user.js';

export interface MeView {
  user: PublicUser;
  via: 'session' | 'api_token';
  memberships: { orgId: string; orgName: string; role: Role; status: 'active' | 'invited' | 'suspended' }[];
}

export async function getMe(ctx: Ctx): Promise<MeView> {
  const me = requireUser(ctx);
  const user = await findUserById(ctx.db, me.userId);
  if (!user) throw notFound('user');
  const rows = await ctx.db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
    .select(['organizations.id as orgId', 'organizations.name as orgName', 'memberships.role', 'memberships.status'])
    .where('memberships.user_id', '=', me.userId)
    .where('organizations.status', '=', 'active')
    .orderBy('organizations.id')
    .execute();
  return { user: publicUser(user), via: me.via, memberships: rows };
}
