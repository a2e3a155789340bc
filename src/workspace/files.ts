import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { fileTypeFromBuffer } from 'file-type';
import { recordAudit } from '../audit/record.js';
import { requireUser } from '../auth/require-user.js';
import type { Ctx } from '../context.js';
import {
  type LoadedContentKey,
  createContentKey,
  destroyContentKeys,
  openRecord,
  openRecordText,
  sealWithContentKey,
} from '../crypto/content-keys.js';
import { flushErasedPages } from '../db/wal.js';
import { assertNotHeld, refuseDeletionUnderHold } from './conversations.js';
import { PalisadeError, notFound } from '../errors.js';
import { type Page, type PageRequest, pageOf, pageQuery } from '../http/pagination.js';
import { newId } from '../ids.js';
import { authorizeWorkspace } from '../policy/network.js';

export const FileView = Type.Object({
  id: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  contentType: Type.String({ description: 'Sniffed from the bytes, not taken from the client.' }),
  declaredContentType: Type.Optional(Type.String()),
  sizeBytes: Type.Integer(),
  sha256: Type.String(),
  contentStatus: Type.Union([Type.Literal('available'), Type.Literal('shredded')]),
  createdAt: Type.String(),
});
export type FileView = Static<typeof FileView>;

type FileRow = {
  id: string;
  org_id: string;
  name_ct: string;
  key_version: number;
  content_key_id: string | null;
  content_type: string;
  size_bytes: number;
  sha256: string;
  created_at: string;
};
const nameRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_files.name', recordId: id });
const dataRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_files', recordId: id });

async function view(ctx: Ctx, r: FileRow, keys?: Map<string, LoadedContentKey>): Promise<FileView> {
  const name = await openRecordText(
    ctx.db,
    ctx.config,
    nameRef(r.org_id, r.id),
    { ct: r.name_ct, keyVersion: Number(r.key_version), contentKeyId: r.content_key_id },
    keys,
  );
  return {
    id: r.id,
    name,
    contentType: r.content_type,
    sizeBytes: Number(r.size_bytes),
    sha256: r.sha256,
    contentStatus: name === null ? 'shredded' : 'available',
    createdAt: r.created_at,
  };
}

/** Content type from the bytes: a known binary signature, else UTF-8 text, else opaque bytes. */
export async function sniffContentType(data: Buffer): Promise<string> {
  const ft = await fileTypeFromBuffer(data);
  if (ft) return ft.mime;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return 'text/plain';
  } catch {
    return 'application/octet-stream';
  }
}

/** Checked before the upload is read, so an unauthorized caller's bytes are never consumed. */
export async function authorizeUpload(ctx: Ctx, orgId: string): Promise<void> {
  await authorizeWorkspace(ctx, orgId);
  requireUser(ctx);
}

export async function storeFile(
  ctx: Ctx,
  orgId: string,
  input: { filename: string; declaredType: string | undefined; data: Buffer },
): Promise<FileView> {
  const { policy } = await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  if (policy.retentionDays === 0) {
    throw new PalisadeError(
      409,
      'zero_retention_no_files',
      'This organization keeps no workspace content (retention 0), so uploaded files cannot be stored. Paste the text into your message instead, or ask an admin about the retention policy.',
    );
  }
  const contentType = await sniffContentType(input.data);
  const now = ctx.clock.now();
  const id = newId('fil', now);
  const sha256 = createHash('sha256').update(input.data).digest('hex');
  return ctx.db.transaction().execute(async (tx) => {
    // One key per file: deleting the file (or its purge) destroys it, and with it every copy of the bytes.
    const key = await createContentKey(tx, ctx.config, now, orgId);
    const name_ct = sealWithContentKey(key, nameRef(orgId, id), input.filename.slice(0, 255));
    const content_ct = sealWithContentKey(key, dataRef(orgId, id), input.data);
    const row = {
      id,
      org_id: orgId,
      user_id: me.userId,
      name_ct,
      content_ct,
      key_version: key.dkVersion,
      content_key_id: key.id,
      content_type: contentType,
      size_bytes: input.data.length,
      sha256,
      retention_days: null,
      created_at: now.toISOString(),
    };
    await tx.insertInto('workspace_files').values(row).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'file.uploaded',
      targets: [{ type: 'file', id }],
      metadata: {
        sizeBytes: input.data.length,
        contentType,
        declaredContentType: input.declaredType ?? null,
        sha256,
        retentionDays: policy.retentionDays,
      },
    });
    return {
      id,
      name: input.filename.slice(0, 255),
      contentType,
      ...(input.declaredType ? { declaredContentType: input.declaredType } : {}),
      sizeBytes: input.data.length,
      sha256,
      contentStatus: 'available' as const,
      createdAt: row.created_at,
    };
  });
}

async function ownFile(ctx: Ctx, orgId: string, id: string) {
  const me = requireUser(ctx);
  const r = await ctx.db
    .selectFrom('workspace_files')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('user_id', '=', me.userId)
    .executeTakeFirst();
  if (!r) throw notFound('file');
  return r;
}

export async function listFiles(ctx: Ctx, orgId: string, page: PageRequest): Promise<Page<FileView>> {
  await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  const rows = await pageQuery(
    ctx.db
      .selectFrom('workspace_files')
      .select([
        'id',
        'org_id',
        'name_ct',
        'key_version',
        'content_key_id',
        'content_type',
        'size_bytes',
        'sha256',
        'created_at',
      ])
      .where('org_id', '=', orgId)
      .where('user_id', '=', me.userId),
    'workspace_files.id',
    page,
  ).execute();
  const out = [];
  const keys = new Map<string, LoadedContentKey>();
  for (const r of rows) out.push(await view(ctx, r, keys));
  return pageOf(out, page);
}

export async function getFile(ctx: Ctx, orgId: string, id: string): Promise<FileView> {
  await authorizeWorkspace(ctx, orgId);
  return view(ctx, await ownFile(ctx, orgId, id));
}

export async function downloadFile(
  ctx: Ctx,
  orgId: string,
  id: string,
): Promise<{ contentType: string; data: Buffer }> {
  await authorizeWorkspace(ctx, orgId);
  const r = await ownFile(ctx, orgId, id);
  const o = await openRecord(ctx.db, ctx.config, dataRef(orgId, id), {
    ct: r.content_ct,
    keyVersion: Number(r.key_version),
    contentKeyId: r.content_key_id,
  });
  if (!o.ok)
    throw new PalisadeError(
      410,
      'content_shredded',
      "This file was encrypted with the organization's destroyed keys (crypto-shredded) and can no longer be read by anyone.",
    );
  return { contentType: r.content_type, data: o.data };
}

export async function deleteFile(ctx: Ctx, orgId: string, id: string): Promise<void> {
  await authorizeWorkspace(ctx, orgId);
  const r = await ownFile(ctx, orgId, id);
  await refuseDeletionUnderHold(ctx, orgId, r.user_id, 'file', r.id);
  await ctx.db.transaction().execute(async (tx) => {
    await assertNotHeld(tx, orgId, r.user_id, 'file');
    await tx.deleteFrom('workspace_files').where('id', '=', r.id).execute();
    const keysDestroyed = await destroyContentKeys(tx, orgId, [r.content_key_id]);
    await recordAudit(tx, ctx, {
      orgId,
      action: 'file.deleted',
      targets: [{ type: 'file', id: r.id }],
      metadata: { sizeBytes: Number(r.size_bytes), keysDestroyed },
    });
  });
  await flushErasedPages(ctx.db);
}
