import { cachedLookup } from '../cache/hot-cache.js';
import { LastUseRecorder } from '../cache/last-use.js';
import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { addMs } from '../clock.js';
import type { Ctx } from '../context.js';
import type { Queryable, User } from '../db/schema.js';
import { badRequest, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { type Page, type PageRequest, pageOf, pageQuery } from '../http/pagination.js';
import { auditOrgsOfUser } from './audit-orgs.js';
import { requireUser } from './require-user.js';
import { displayPrefix, generateSecret, hashSecret, secretKind } from './secrets.js';
import { unlessStorageFault } from '../db/faults.js';

/** Personal API tokens: a person's own credential for scripts. They act as that person, nothing more. */
export const ApiTokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({
    description: 'First characters of the token, to recognise it; the rest is never shown again.',
  }),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
export type ApiTokenView = Static<typeof ApiTokenView>;

export const CreateApiTokenInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);
export type CreateApiTokenInput = Static<typeof CreateApiTokenInput>;

type TokenRow = {
  id: string;
  name: string;
  display_prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
};
const view = (r: TokenRow): ApiTokenView => ({
  id: r.id,
  name: r.name,
  prefix: r.display_prefix,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

export async function createApiToken(
  ctx: Ctx,
  input: CreateApiTokenInput,
): Promise<{ token: string; apiToken: ApiTokenView }> {
  const me = requireUser(ctx);
  if (me.via === 'api_token')
    throw badRequest(
      'token_cannot_mint_token',
      'Create API tokens from a signed-in browser session, not with another API token.',
    );
  const now = ctx.clock.now();
  const secret = generateSecret('pat');
  const row = {
    id: newId('tok', now),
    user_id: me.userId,
    name: input.name.trim(),
    token_hash: hashSecret(secret),
    display_prefix: displayPrefix(secret),
    created_at: now.toISOString(),
    expires_at: input.expiresInDays ? addMs(now, input.expiresInDays * 86_400_000).toISOString() : null,
    last_used_at: null,
    revoked_at: null,
  };
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('api_tokens').values(row).execute();
    for (const orgId of await auditOrgsOfUser(tx, me.userId)) {
      await recordAudit(tx, ctx, {
        orgId,
        action: 'api_token.created',
        targets: [{ type: 'api_token', id: row.id, name: row.name }],
        metadata: { expiresAt: row.expires_at },
      });
    }
  });
  return { token: secret, apiToken: view(row) };
}

export async function listApiTokens(ctx: Ctx, page: PageRequest): Promise<Page<ApiTokenView>> {
  const me = requireUser(ctx);
  const rows = await pageQuery(
    ctx.db.selectFrom('api_tokens').selectAll().where('user_id', '=', me.userId),
    'api_tokens.id',
    page,
  ).execute();
  return pageOf(rows.map(view), page);
}

export async function revokeApiToken(ctx: Ctx, tokenId: string): Promise<ApiTokenView> {
  const me = requireUser(ctx);
  return ctx.db.transaction().execute(async (tx) => {
    const row = await tx
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', tokenId)
      .where('user_id', '=', me.userId)
      .executeTakeFirst();
    if (!row) throw notFound('API token');
    if (row.revoked_at) return view(row);
    const at = ctx.clock.now().toISOString();
    await tx.updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', tokenId).execute();
    for (const orgId of await auditOrgsOfUser(tx, me.userId)) {
      await recordAudit(tx, ctx, {
        orgId,
        action: 'api_token.revoked',
        targets: [{ type: 'api_token', id: row.id, name: row.name }],
      });
    }
    return view({ ...row, revoked_at: at });
  });
}

const lastUse = new LastUseRecorder();

export async function resolveApiToken(
  db: Queryable,
  now: Date,
  secret: string,
  scope?: object,
): Promise<{ tokenId: string; user: User } | undefined> {
  if (secretKind(secret) !== 'pat') return undefined;
  const tokenHash = hashSecret(secret);
  // Through the per-process cache (src/cache/hot-cache.ts): creating or revoking a token, or a change
  // of its owner's status or email, empties it (migrations 0023 and 0027), so a revocation takes
  // effect on the next request. An unknown hash is never cached. The checks below run every time.
  const row = await cachedLookup(
    db,
    `api-token\n${tokenHash}`,
    () =>
      db
        .selectFrom('api_tokens')
        .innerJoin('users', 'users.id', 'api_tokens.user_id')
        .selectAll('users')
        .select([
          'api_tokens.id as token_id',
          'api_tokens.expires_at as token_expires_at',
          'api_tokens.revoked_at as token_revoked_at',
          'api_tokens.last_used_at as token_last_used_at',
        ])
        .where('api_tokens.token_hash', '=', tokenHash)
        .executeTakeFirst(),
    scope,
    // About the token's owner: a new user or membership of someone else leaves it cached (migration 0028).
    (found) => found?.id,
  );
  const at = now.toISOString();
  if (
    !row ||
    row.token_revoked_at !== null ||
    (row.token_expires_at !== null && row.token_expires_at <= at) ||
    row.status !== 'active'
  )
    return undefined;
  // Record use at most once a minute: a busy script should not turn every read into a write.
  if (lastUse.due(row.token_id, row.token_last_used_at, now)) {
    // Best effort: on a full disk the token still works for reads (src/db/faults.ts).
    await db
      .updateTable('api_tokens')
      .set({ last_used_at: at })
      .where('id', '=', row.token_id)
      .execute()
      .catch(unlessStorageFault);
  }
  const { token_id, token_expires_at: _e, token_revoked_at: _r, token_last_used_at: _l, ...user } = row;
  return { tokenId: token_id, user };
}
