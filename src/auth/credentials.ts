import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Tx, User } from '../db/schema.js';
import { voidCredentialLinks } from './link-tokens.js';
import { revokeAllCredentials } from './sessions.js';

/**
 * Sets a person's password and ends every other way into the account: sessions, personal API
 * tokens, gateway keys and unused links that set a credential. Whoever held the account before
 * (someone who set a password without controlling the address, a stolen session) is out.
 * `verified` records that the address was proven on the way (a link delivered to it). Audited in
 * each organization the person belongs to, in the caller's transaction.
 */
export async function replacePassword(
  tx: Tx,
  ctx: Ctx,
  user: User,
  hash: string,
  how: {
    via: 'invite' | 'setup' | 'reset' | 'password_change';
    verified: boolean;
    keepSessionId?: string;
    orgIds: string[];
  },
): Promise<{ sessions: number; tokens: number; gatewayKeys: number; links: number }> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  await tx
    .updateTable('users')
    .set({
      password_hash: hash,
      password_changed_at: at,
      updated_at: at,
      ...(how.verified && !user.email_verified_at ? { email_verified_at: at } : {}),
    })
    .where('id', '=', user.id)
    .execute();
  const revoked = await revokeAllCredentials(
    tx,
    now,
    user.id,
    how.via === 'password_change' ? { keepSessionId: how.keepSessionId, sessionsOnly: true } : {},
  );
  const links = await voidCredentialLinks(tx, now, user.id);
  const actor = {
    type: 'user' as const,
    id: user.id,
    email: user.email,
    ip: ctx.meta.ip,
    userAgent: ctx.meta.userAgent,
  };
  for (const orgId of how.orgIds) {
    await recordAudit(tx, ctx, {
      orgId,
      action: 'auth.password_set',
      actor,
      targets: [{ type: 'user', id: user.id, name: user.email }],
      metadata: {
        via: how.via,
        hadPassword: user.password_hash !== null,
        emailVerified: how.verified || user.email_verified_at !== null,
        sessionsRevoked: revoked.sessions,
        apiTokensRevoked: revoked.tokens,
        gatewayKeysRevoked: revoked.gatewayKeys,
        linksVoided: links,
      },
    });
  }
  return { ...revoked, links };
}
