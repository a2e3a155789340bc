import { createHash } from 'node:crypto';
import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { fail } from './diagnosis.js';
import type { SsoLoginStatesTable } from './tables.js';

/** How long a person has to finish signing in at the IdP. */
export const LOGIN_STATE_TTL_MS = 10 * 60_000;

export const stateKey = (value: string) => createHash('sha256').update(value).digest('hex');

export async function saveLoginState(
  db: Queryable,
  ctx: Pick<Ctx, 'clock'>,
  row: Omit<SsoLoginStatesTable, 'created_at' | 'expires_at' | 'used_at'>,
): Promise<void> {
  const now = ctx.clock.now();
  await db
    .insertInto('sso_login_states')
    .values({
      ...row,
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + LOGIN_STATE_TTL_MS).toISOString(),
      used_at: null,
    })
    .execute();
}

/** Takes a login state exactly once. Unknown, reused and expired states each get their own diagnosis. */
export async function consumeLoginState(
  db: Queryable,
  ctx: Pick<Ctx, 'clock'>,
  id: string,
  kind: 'state' | 'InResponseTo',
): Promise<SsoLoginStatesTable> {
  const row = await db.selectFrom('sso_login_states').selectAll().where('id', '=', id).executeTakeFirst();
  const restart = 'Start signing in again from Palisade.';
  if (!row)
    throw fail(
      'sso_state_unknown',
      `This sign-in response does not match any sign-in Palisade started. ${restart}`,
      `${kind} matches a pending sign-in`,
      { received: 'unknown value' },
    );
  const now = ctx.clock.now().toISOString();
  if (row.used_at)
    throw fail('sso_state_reused', `This sign-in response was already used. ${restart}`, `${kind} single use`, {
      expected: 'unused',
      received: `used at ${row.used_at}`,
    });
  if (row.expires_at <= now)
    throw fail('sso_state_expired', `The sign-in took too long and expired. ${restart}`, `${kind} not expired`, {
      expected: `before ${row.expires_at}`,
      received: now,
    });
  const taken = await db
    .updateTable('sso_login_states')
    .set({ used_at: now })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  if (Number(taken.numUpdatedRows) !== 1)
    throw fail('sso_state_reused', `This sign-in response was already used. ${restart}`, `${kind} single use`, {
      expected: 'unused',
      received: 'used concurrently',
    });
  return row;
}

/**
 * node-saml's request-id cache, kept in the login-state table: the AuthnRequest id is saved when
 * Palisade redirects to the IdP and taken (once) when the response comes back.
 */
export function samlRequestCache(
  db: Queryable,
  ctx: Pick<Ctx, 'clock'>,
  connectionId: string,
  orgId: string,
  purpose: 'login' | 'test',
  initiatedBy: string | null,
  binding: string | null,
): CacheProvider {
  return {
    async saveAsync(key: string, value: string): Promise<CacheItem | null> {
      await saveLoginState(db, ctx, {
        id: stateKey(key),
        connection_id: connectionId,
        org_id: orgId,
        purpose,
        nonce: null,
        code_verifier: null,
        initiated_by: initiatedBy,
        browser_binding: binding ? stateKey(binding) : null,
      });
      return { value, createdAt: ctx.clock.now().getTime() };
    },
    async getAsync(key: string): Promise<string | null> {
      const row = await db
        .selectFrom('sso_login_states')
        .selectAll()
        .where('id', '=', stateKey(key))
        .where('connection_id', '=', connectionId)
        .executeTakeFirst();
      if (!row || row.expires_at <= ctx.clock.now().toISOString()) return null;
      return new Date(row.created_at).toISOString();
    },
    async removeAsync(_key: string | null): Promise<string | null> {
      // Palisade consumes the state itself (consumeLoginState) so that reuse has its own diagnosis.
      return null;
    },
  };
}

/** Login records older than this are no longer replayed when a connection changes. */
export const LOGIN_RECORD_RETENTION_DAYS = 180;

/** Sign-ins older than the login-record retention are not replayed (the records are purged). */
export const recentCutoff = (now: Date) =>
  new Date(now.getTime() - LOGIN_RECORD_RETENTION_DAYS * 86_400_000).toISOString();

export async function purgeExpiredSsoState(
  db: Queryable,
  now: Date,
): Promise<{ states: number; assertions: number; loginRecords: number }> {
  const at = now.toISOString();
  const s = await db.deleteFrom('sso_login_states').where('expires_at', '<', at).executeTakeFirst();
  const a = await db.deleteFrom('sso_assertion_ids').where('expires_at', '<', at).executeTakeFirst();
  const cutoff = new Date(now.getTime() - LOGIN_RECORD_RETENTION_DAYS * 86_400_000).toISOString();
  const l = await db.deleteFrom('sso_logins').where('occurred_at', '<', cutoff).executeTakeFirst();
  return {
    states: Number(s.numDeletedRows),
    assertions: Number(a.numDeletedRows),
    loginRecords: Number(l.numDeletedRows),
  };
}

/**
 * The browser that finishes a sign-in must be the one that started it: otherwise an attacker could
 * hand a victim a callback (or a SAML response) for the attacker's own account (login CSRF).
 */
export function assertSameBrowser(row: SsoLoginStatesTable, binding: string | undefined): void {
  if (!row.browser_binding) return;
  if (!binding || stateKey(binding) !== row.browser_binding) {
    throw fail(
      'sso_browser_mismatch',
      'This sign-in was started in a different browser (or its cookie was blocked). Start signing in again here.',
      'sign-in finished in the browser that started it',
      { expected: 'the palisade_sso cookie set at start', received: binding ? 'a different cookie' : 'no cookie' },
    );
  }
}
