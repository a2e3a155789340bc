import type { Ctx } from '../context.js';
import { notFound } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import type { ConnectionRow } from './connections.js';
import { fail } from './diagnosis.js';
import { startOidc } from './oidc.js';
import { startSaml } from './saml.js';
import { assertTestIdpUsable } from './test-idp-policy.js';

export async function connectionById(ctx: Pick<Ctx, 'db'>, id: string): Promise<ConnectionRow | undefined> {
  return ctx.db.selectFrom('sso_connections').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Starts a sign-in through a connection and returns where to send the browser. `test` marks an
 * admin's test login (signed in already, with SSO-management rights in the connection's organization):
 * a successful one is what allows enforcement.
 */
export async function startLogin(
  ctx: Ctx,
  connectionId: string,
  test: boolean,
  binding: string,
): Promise<{ redirect: string; conn: ConnectionRow }> {
  const conn = await connectionById(ctx, connectionId);
  if (!conn) throw notFound('SSO connection');
  let initiatedBy: string | null = null;
  if (test) {
    await authorize(ctx, conn.org_id, 'sso.manage');
    initiatedBy = ctx.caller.kind === 'user' ? ctx.caller.userId : null;
  }
  if (conn.status !== 'active')
    throw fail(
      'sso_connection_disabled',
      conn.status === 'draft'
        ? "This sign-in method is not set up yet: an administrator must add the identity provider's metadata."
        : 'This sign-in method is turned off.',
      'connection active',
      { expected: 'active', received: conn.status },
    );
  assertTestIdpUsable(ctx.config, conn);
  const purpose = test ? 'test' : 'login';
  const redirect =
    conn.protocol === 'oidc'
      ? await startOidc(ctx, conn, purpose, initiatedBy, binding)
      : await startSaml(ctx, conn, purpose, initiatedBy, binding);
  return { redirect, conn };
}
