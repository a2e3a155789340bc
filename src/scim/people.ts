import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { type Page, PageQuerySchema, pageOf, pageQuery, pageRequest } from '../http/pagination.js';
import { authorize } from '../orgs/authorize.js';
import { loadDirectory } from './directories.js';

/**
 * The people a directory provisioned, as the admin needs to see them: the SCIM identity, the
 * Palisade account it is linked to (or why there is none yet), and the membership it drives.
 * A SCIM user without a usable email address is listed here with `signIn: "awaiting_email"`:
 * it has no account, so it is not (yet) in the organization's member list.
 */
export const DirectoryUsersQuery = Type.Object({
  ...PageQuerySchema,
  signIn: Type.Optional(
    Type.Union(
      [Type.Literal('ready'), Type.Literal('awaiting_email'), Type.Literal('suspended'), Type.Literal('inactive')],
      { description: 'Only people in this state.' },
    ),
  ),
});
export type DirectoryUsersQuery = Static<typeof DirectoryUsersQuery>;

export const DirectoryUserView = Type.Object({
  id: Type.String({ description: 'SCIM user id.' }),
  userName: Type.String(),
  externalId: Type.Union([Type.String(), Type.Null()]),
  active: Type.Boolean({ description: 'Access as Palisade applies it (false: deactivated in the identity provider).' }),
  account: Type.Union([Type.Object({ userId: Type.String(), email: Type.String() }), Type.Null()], {
    description: 'null: no Palisade account yet (no usable email address).',
  }),
  membership: Type.Union([Type.Object({ id: Type.String(), role: Type.String(), status: Type.String() }), Type.Null()]),
  signIn: Type.Union(
    [Type.Literal('ready'), Type.Literal('awaiting_email'), Type.Literal('suspended'), Type.Literal('inactive')],
    {
      description:
        '`ready`: can sign in; `awaiting_email`: no account until the identity provider sends an address; `suspended`: the membership is suspended; `inactive`: deactivated in the identity provider before any membership existed.',
    },
  ),
  explanation: Type.String(),
  updatedAt: Type.String(),
});
export type DirectoryUserView = Static<typeof DirectoryUserView>;

type Row = {
  id: string;
  user_name: string;
  external_id: string | null;
  active: number;
  updated_at: string;
  user_id: string | null;
  email: string | null;
  membership_id: string | null;
  role: string | null;
  status: string | null;
};

function view(r: Row): DirectoryUserView {
  const account = r.user_id && r.email ? { userId: r.user_id, email: r.email } : null;
  const membership = r.membership_id
    ? { id: r.membership_id, role: r.role ?? 'member', status: r.status ?? 'active' }
    : null;
  let signIn: DirectoryUserView['signIn'];
  let explanation: string;
  if (!account) {
    signIn = 'awaiting_email';
    explanation = `${r.user_name} has no Palisade account: the identity provider sent no usable email address. They cannot sign in until it sends one (in "emails", or an email address as userName); the account is created and linked on that update.`;
  } else if (membership?.status === 'suspended') {
    signIn = 'suspended';
    explanation = `${account.email} is suspended in this organization (deactivated in the identity provider); reactivate them there.`;
  } else if (!membership) {
    signIn = 'inactive';
    explanation = `${account.email} is deactivated in the identity provider and has no membership here.`;
  } else {
    signIn = 'ready';
    explanation = `${account.email} can sign in as ${membership.role}.`;
  }
  return {
    id: r.id,
    userName: r.user_name,
    externalId: r.external_id,
    active: r.active === 1,
    account,
    membership,
    signIn,
    explanation,
    updatedAt: r.updated_at,
  };
}

export async function listDirectoryUsers(
  ctx: Ctx,
  orgId: string,
  directoryId: string,
  q: DirectoryUsersQuery,
): Promise<Page<DirectoryUserView>> {
  await authorize(ctx, orgId, 'scim.manage');
  const dir = await loadDirectory(ctx.db, orgId, directoryId);
  const page = pageRequest(q);
  let query = ctx.db
    .selectFrom('scim_users')
    .leftJoin('users', 'users.id', 'scim_users.user_id')
    .leftJoin('memberships', (j) =>
      j.onRef('memberships.user_id', '=', 'scim_users.user_id').on('memberships.org_id', '=', dir.org_id),
    )
    .select([
      'scim_users.id',
      'scim_users.user_name',
      'scim_users.external_id',
      'scim_users.active',
      'scim_users.updated_at',
      'scim_users.user_id',
      'users.email',
      'memberships.id as membership_id',
      'memberships.role',
      'memberships.status',
    ])
    .where('scim_users.directory_id', '=', dir.id);
  if (q.signIn === 'awaiting_email') query = query.where('scim_users.user_id', 'is', null);
  else if (q.signIn === 'suspended') query = query.where('memberships.status', '=', 'suspended');
  else if (q.signIn === 'inactive')
    query = query.where('scim_users.user_id', 'is not', null).where('memberships.id', 'is', null);
  else if (q.signIn === 'ready') query = query.where('memberships.status', 'in', ['active', 'invited']);
  const rows = (await pageQuery(query, 'scim_users.id', page).execute()) as Row[];
  return pageOf(rows.map(view), page);
}
