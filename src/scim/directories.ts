import { cachedLookup } from '../cache/hot-cache.js';
import { LastUseRecorder } from '../cache/last-use.js';
import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { addMs } from '../clock.js';
import type { Ctx } from '../context.js';
import type { Queryable, Tx } from '../db/schema.js';
import { notFound } from '../errors.js';
import { newId } from '../ids.js';
import { authorize } from '../orgs/authorize.js';
import { displayPrefix, generateSecret, hashSecret, secretKind } from '../auth/secrets.js';
import { scimUnauthorized } from './errors.js';
import type { ScimDirectoriesTable } from './tables.js';

/** SCIM directories: one per identity-provider connection, each with its own URL and bearer token. */
export type Directory = ScimDirectoriesTable;

export const DirectoryView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  baseUrl: Type.String({ description: 'SCIM base URL to paste into the identity provider.' }),
  roleSync: Type.Boolean({ description: 'Whether group membership changes roles (false: roles are only previewed).' }),
  tokens: Type.Array(
    Type.Object({
      id: Type.String(),
      prefix: Type.String(),
      createdAt: Type.String(),
      expiresAt: Type.Union([Type.String(), Type.Null()]),
      lastUsedAt: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type DirectoryView = Static<typeof DirectoryView>;

export const CreateDirectoryInput = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 100 }), roleSync: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type CreateDirectoryInput = Static<typeof CreateDirectoryInput>;

export const UpdateDirectoryInput = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), roleSync: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type UpdateDirectoryInput = Static<typeof UpdateDirectoryInput>;

export const RotateTokenInput = Type.Object(
  {
    overlapHours: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 168,
        description: 'How long the previous token keeps working (default 24; 0 ends it now).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RotateTokenInput = Static<typeof RotateTokenInput>;

export const DEFAULT_OVERLAP_HOURS = 24;

export const scimBaseUrl = (ctx: Pick<Ctx, 'config'>, directoryId: string) =>
  `${ctx.config.publicUrl}/scim/v2/${directoryId}`;

async function view(db: Queryable, ctx: Pick<Ctx, 'config' | 'clock'>, d: Directory): Promise<DirectoryView> {
  const at = ctx.clock.now().toISOString();
  const tokens = await db
    .selectFrom('scim_tokens')
    .selectAll()
    .where('directory_id', '=', d.id)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]))
    .orderBy('id')
    .execute();
  return {
    id: d.id,
    name: d.name,
    baseUrl: scimBaseUrl(ctx, d.id),
    roleSync: d.role_sync === 1,
    tokens: tokens.map((t) => ({
      id: t.id,
      prefix: t.display_prefix,
      createdAt: t.created_at,
      expiresAt: t.expires_at,
      lastUsedAt: t.last_used_at,
    })),
    createdAt: d.created_at,
    updatedAt: d.updated_at,
  };
}

export async function loadDirectory(db: Queryable, orgId: string, directoryId: string): Promise<Directory> {
  const d = await db
    .selectFrom('scim_directories')
    .selectAll()
    .where('id', '=', directoryId)
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .executeTakeFirst();
  if (!d) throw notFound('SCIM directory');
  return d;
}

async function issueToken(db: Queryable, directoryId: string, now: Date): Promise<string> {
  const secret = generateSecret('scim');
  await db
    .insertInto('scim_tokens')
    .values({
      id: newId('sct', now),
      directory_id: directoryId,
      token_hash: hashSecret(secret),
      display_prefix: displayPrefix(secret),
      created_at: now.toISOString(),
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
    })
    .execute();
  return secret;
}

export async function createDirectory(
  ctx: Ctx,
  orgId: string,
  input: CreateDirectoryInput,
): Promise<{ directory: DirectoryView; token: string }> {
  await authorize(ctx, orgId, 'scim.manage');
  return ctx.db.transaction().execute(async (tx) => {
    const now = ctx.clock.now();
    const at = now.toISOString();
    const d: Directory = {
      id: newId('scd', now),
      org_id: orgId,
      name: input.name.trim(),
      role_sync: input.roleSync === false ? 0 : 1,
      status: 'active',
      created_at: at,
      updated_at: at,
    };
    await tx.insertInto('scim_directories').values(d).execute();
    const token = await issueToken(tx, d.id, now);
    await recordAudit(tx, ctx, {
      orgId,
      action: 'scim.directory_created',
      targets: [{ type: 'scim_directory', id: d.id, name: d.name }],
      metadata: { roleSync: d.role_sync === 1 },
    });
    return { directory: await view(tx, ctx, d), token };
  });
}

export async function listDirectories(ctx: Ctx, orgId: string): Promise<{ data: DirectoryView[] }> {
  await authorize(ctx, orgId, 'scim.manage');
  const rows = await ctx.db
    .selectFrom('scim_directories')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .orderBy('id')
    .execute();
  return { data: await Promise.all(rows.map((d) => view(ctx.db, ctx, d))) };
}

export async function getDirectory(ctx: Ctx, orgId: string, directoryId: string): Promise<DirectoryView> {
  await authorize(ctx, orgId, 'scim.manage');
  return view(ctx.db, ctx, await loadDirectory(ctx.db, orgId, directoryId));
}

/** Turning group-driven roles on applies them at once (see applyRolesInTx). */
export async function updateDirectory(
  ctx: Ctx,
  orgId: string,
  directoryId: string,
  input: UpdateDirectoryInput,
  applyRoles?: (tx: Tx, ctx: Ctx, d: Directory) => Promise<unknown>,
): Promise<DirectoryView> {
  await authorize(ctx, orgId, 'scim.manage');
  return ctx.db.transaction().execute(async (tx) => {
    const d = await loadDirectory(tx, orgId, directoryId);
    const next: Directory = {
      ...d,
      name: input.name?.trim() ?? d.name,
      role_sync: input.roleSync === undefined ? d.role_sync : input.roleSync ? 1 : 0,
      updated_at: ctx.clock.now().toISOString(),
    };
    await tx
      .updateTable('scim_directories')
      .set({ name: next.name, role_sync: next.role_sync, updated_at: next.updated_at })
      .where('id', '=', d.id)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'scim.directory_updated',
      targets: [{ type: 'scim_directory', id: d.id, name: next.name }],
      metadata: { roleSync: next.role_sync === 1 },
    });
    if (d.role_sync === 0 && next.role_sync === 1 && applyRoles) await applyRoles(tx, ctx, next);
    return view(tx, ctx, next);
  });
}

/** A new token; the previous ones keep working for the overlap window so the IdP can be switched without a gap. */
export async function rotateDirectoryToken(
  ctx: Ctx,
  orgId: string,
  directoryId: string,
  input: RotateTokenInput,
): Promise<{ directory: DirectoryView; token: string }> {
  await authorize(ctx, orgId, 'scim.manage');
  return ctx.db.transaction().execute(async (tx) => {
    const d = await loadDirectory(tx, orgId, directoryId);
    const now = ctx.clock.now();
    const overlapHours = input.overlapHours ?? DEFAULT_OVERLAP_HOURS;
    const until = addMs(now, overlapHours * 3_600_000).toISOString();
    if (overlapHours === 0)
      await tx
        .updateTable('scim_tokens')
        .set({ revoked_at: now.toISOString() })
        .where('directory_id', '=', d.id)
        .where('revoked_at', 'is', null)
        .execute();
    else {
      await tx
        .updateTable('scim_tokens')
        .set({ expires_at: until })
        .where('directory_id', '=', d.id)
        .where('revoked_at', 'is', null)
        .where('expires_at', 'is', null)
        .execute();
      await tx
        .updateTable('scim_tokens')
        .set({ expires_at: until })
        .where('directory_id', '=', d.id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', until)
        .execute();
    }
    const token = await issueToken(tx, d.id, now);
    await recordAudit(tx, ctx, {
      orgId,
      action: 'scim.token_rotated',
      targets: [{ type: 'scim_directory', id: d.id, name: d.name }],
      metadata: { overlapHours, previousValidUntil: overlapHours === 0 ? now.toISOString() : until },
    });
    return { directory: await view(tx, ctx, d), token };
  });
}

/** Deletes the directory and ends its tokens. People it provisioned keep their memberships; remove them explicitly. */
export async function deleteDirectory(ctx: Ctx, orgId: string, directoryId: string): Promise<void> {
  await authorize(ctx, orgId, 'scim.manage');
  await ctx.db.transaction().execute(async (tx) => {
    const d = await loadDirectory(tx, orgId, directoryId);
    const at = ctx.clock.now().toISOString();
    await tx
      .updateTable('scim_directories')
      .set({ status: 'deleted', updated_at: at })
      .where('id', '=', d.id)
      .execute();
    await tx
      .updateTable('scim_tokens')
      .set({ revoked_at: at })
      .where('directory_id', '=', d.id)
      .where('revoked_at', 'is', null)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'scim.directory_deleted',
      targets: [{ type: 'scim_directory', id: d.id, name: d.name }],
    });
  });
}

const lastUse = new LastUseRecorder();

/** The SCIM endpoints' only authentication: a live token of exactly the directory named in the URL. */
export async function authenticateDirectory(
  db: Queryable,
  now: Date,
  directoryId: string,
  authorization: string | undefined,
  scope?: object,
): Promise<Directory> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const secret = m?.[1];
  if (!secret || secretKind(secret) !== 'scim') throw scimUnauthorized();
  const tokenHash = hashSecret(secret);
  // Through the per-process cache (src/cache/hot-cache.ts): a token's creation, rotation or
  // revocation, any change to its directory or organization empties it (migrations 0023, 0027), so
  // a revoked token is refused on the next request. The checks below run every time.
  const row = await cachedLookup(
    db,
    `scim-token\n${tokenHash}`,
    () =>
      db
        .selectFrom('scim_tokens')
        .innerJoin('scim_directories', 'scim_directories.id', 'scim_tokens.directory_id')
        .innerJoin('organizations', 'organizations.id', 'scim_directories.org_id')
        .selectAll('scim_directories')
        .select('organizations.status as org_status')
        .select([
          'scim_tokens.id as token_id',
          'scim_tokens.expires_at as token_expires_at',
          'scim_tokens.revoked_at as token_revoked_at',
          'scim_tokens.last_used_at as token_last_used_at',
        ])
        .where('scim_tokens.token_hash', '=', tokenHash)
        .executeTakeFirst(),
    scope,
  );
  const at = now.toISOString();
  if (
    !row ||
    row.id !== directoryId ||
    row.status !== 'active' ||
    row.org_status !== 'active' ||
    row.token_revoked_at !== null ||
    (row.token_expires_at !== null && row.token_expires_at <= at)
  )
    throw scimUnauthorized();
  if (lastUse.due(row.token_id, row.token_last_used_at, now)) {
    await db.updateTable('scim_tokens').set({ last_used_at: at }).where('id', '=', row.token_id).execute();
  }
  const {
    token_id: _i,
    token_expires_at: _e,
    token_revoked_at: _r,
    token_last_used_at: _l,
    org_status: _o,
    ...directory
  } = row;
  return directory;
}
