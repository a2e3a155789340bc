import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { notFound } from '../errors.js';
import { type Page, type PageRequest, pageOf } from '../http/pagination.js';
import { authorize } from '../orgs/authorize.js';
import { loadConnection } from './connections.js';

/**
 * The links between an IdP's stable subjects and Palisade accounts (src/sso/account-match.ts), per
 * connection. Releasing one is how an admin settles `sso_subject_mismatch`: the address was given to
 * someone new at the IdP, the previous holder is offboarded, and the next sign-in links the account
 * to the new subject. Audited; the account itself is untouched.
 */
export const IdentityLinkView = Type.Object({
  userId: Type.String(),
  email: Type.String(),
  subject: Type.String({ description: 'issuer|subject as the IdP sent it (OIDC sub, SAML persistent NameID).' }),
  linkedAt: Type.String(),
  lastLoginAt: Type.String(),
});
export type IdentityLinkView = Static<typeof IdentityLinkView>;

export async function listIdentityLinks(
  ctx: Ctx,
  orgId: string,
  connectionId: string,
  page: PageRequest,
): Promise<Page<IdentityLinkView>> {
  await authorize(ctx, orgId, 'sso.manage');
  await loadConnection(ctx.db, orgId, connectionId);
  let q = ctx.db
    .selectFrom('sso_identities')
    .innerJoin('users', 'users.id', 'sso_identities.user_id')
    .select([
      'sso_identities.user_id',
      'users.email',
      'sso_identities.subject',
      'sso_identities.created_at',
      'sso_identities.last_login_at',
    ])
    .where('sso_identities.connection_id', '=', connectionId)
    .where('sso_identities.org_id', '=', orgId);
  const after = page.after?.[0];
  if (after !== undefined) q = q.where('sso_identities.user_id', '>', after);
  const rows = await q
    .orderBy('sso_identities.user_id')
    .limit(page.limit + 1)
    .execute();
  return pageOf(
    rows.map((r) => ({
      userId: r.user_id,
      email: r.email,
      subject: r.subject,
      linkedAt: r.created_at,
      lastLoginAt: r.last_login_at,
    })),
    page,
    (r) => [r.userId],
  );
}

export async function releaseIdentityLink(
  ctx: Ctx,
  orgId: string,
  connectionId: string,
  userId: string,
): Promise<void> {
  await authorize(ctx, orgId, 'sso.manage');
  const conn = await loadConnection(ctx.db, orgId, connectionId);
  await ctx.db.transaction().execute(async (tx) => {
    const link = await tx
      .selectFrom('sso_identities')
      .innerJoin('users', 'users.id', 'sso_identities.user_id')
      .select(['sso_identities.id', 'sso_identities.subject', 'users.email'])
      .where('sso_identities.connection_id', '=', conn.id)
      .where('sso_identities.org_id', '=', orgId)
      .where('sso_identities.user_id', '=', userId)
      .executeTakeFirst();
    if (!link) throw notFound('identity link');
    await tx.deleteFrom('sso_identities').where('id', '=', link.id).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'sso.identity_unlinked',
      targets: [
        { type: 'user', id: userId, name: link.email },
        { type: 'sso_connection', id: conn.id, name: conn.name },
      ],
      metadata: { subject: link.subject },
    });
  });
}
