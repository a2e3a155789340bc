import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { type ComplianceCall, organizationsOf } from './call.js';
import { auditReads, holdCovering, legalHoldRefusal } from './chats.js';
import { eraseFile, flushErasedPages, openFileData, openFileName } from './content.js';
import { type ContentFilters, type ContentListQuery, contentFilters, cursorPage } from './content-lists.js';
import { complianceError, notVisible } from './errors.js';
import { emailsOf, fileIn } from './store.js';

/** Uploaded files: metadata (the name is content, so reading it is audited), the bytes, deletion. */
export const FileView = Type.Object({
  id: Type.String(),
  organization_id: Type.String(),
  user: Type.Object({ id: Type.String(), email_address: Type.Union([Type.String(), Type.Null()]) }),
  filename: Type.Union([Type.String(), Type.Null()], {
    description: 'Decrypted; null when the content was crypto-shredded.',
  }),
  content_type: Type.String({ description: 'Sniffed from the bytes at upload.' }),
  size_bytes: Type.Integer(),
  sha256: Type.String(),
  content_status: Type.String(),
  created_at: Type.String(),
});
export type FileView = Static<typeof FileView>;

type FileRow = NonNullable<Awaited<ReturnType<typeof fileIn>>>;

async function view(ctx: Ctx, r: FileRow, emails: Map<string, string>): Promise<FileView> {
  const filename = await openFileName(ctx.db, ctx.config, r);
  return {
    id: r.id,
    organization_id: r.org_id,
    user: { id: r.user_id, email_address: emails.get(r.user_id) ?? null },
    filename,
    content_type: r.content_type,
    size_bytes: Number(r.size_bytes),
    sha256: r.sha256,
    content_status: filename === null ? 'shredded' : 'available',
    created_at: r.created_at,
  };
}

async function fileRows(ctx: Ctx, orgIds: string[], f: ContentFilters) {
  const dir = f.cursor?.direction === 'before' ? 'asc' : 'desc';
  let q = ctx.db.selectFrom('workspace_files').selectAll().where('org_id', 'in', orgIds);
  if (f.userIds) q = q.where('user_id', 'in', f.userIds);
  if (f.range.gte) q = q.where('created_at', '>=', f.range.gte);
  if (f.range.gt) q = q.where('created_at', '>', f.range.gt);
  if (f.range.lte) q = q.where('created_at', '<=', f.range.lte);
  if (f.range.lt) q = q.where('created_at', '<', f.range.lt);
  if (f.cursor) q = q.where('id', f.cursor.direction === 'after' ? '<' : '>', f.cursor.id);
  return q
    .orderBy('id', dir)
    .limit(f.limit + 1)
    .execute();
}

export async function listFiles(call: ComplianceCall, query: ContentListQuery) {
  const { ctx } = call;
  const f = contentFilters(query);
  const orgIds = organizationsOf(call, f.organizationIds);
  const page = cursorPage(orgIds.length ? await fileRows(ctx, orgIds, f) : [], f);
  const emails = await emailsOf(
    ctx.db,
    page.data.map((r) => r.user_id),
  );
  const data: FileView[] = [];
  for (const r of page.data) data.push(await view(ctx, r, emails));
  await auditReads(
    ctx,
    call,
    'file_names',
    data
      .filter((d) => d.filename !== null)
      .map((d) => ({
        orgId: d.organization_id,
        id: d.id,
        userId: d.user.id,
        bytes: Buffer.byteLength(d.filename ?? ''),
      })),
    'file',
  );
  return { ...page, data };
}

export async function getFile(call: ComplianceCall, fileId: string): Promise<FileView> {
  const { ctx } = call;
  const r = await fileIn(ctx.db, call.key.orgIds, fileId);
  if (!r) throw notVisible('file');
  const v = await view(ctx, r, await emailsOf(ctx.db, [r.user_id]));
  await auditReads(
    ctx,
    call,
    'file_metadata',
    [{ orgId: r.org_id, id: r.id, userId: r.user_id, bytes: Buffer.byteLength(v.filename ?? '') }],
    'file',
  );
  return v;
}

export async function downloadFile(
  call: ComplianceCall,
  fileId: string,
): Promise<{ data: Buffer; contentType: string; sha256: string }> {
  const { ctx } = call;
  const r = await fileIn(ctx.db, call.key.orgIds, fileId);
  if (!r) throw notVisible('file');
  const data = await openFileData(ctx.db, ctx.config, r);
  if (data === null)
    throw complianceError(
      'content_shredded',
      "This file was encrypted with the organization's destroyed keys (crypto-shredded) and can no longer be read by anyone. Its metadata remains.",
    );
  await auditReads(
    ctx,
    call,
    'file_content',
    [{ orgId: r.org_id, id: r.id, userId: r.user_id, bytes: data.length }],
    'file',
    { sha256: r.sha256 },
  );
  return { data, contentType: r.content_type, sha256: r.sha256 };
}

export async function deleteFile(call: ComplianceCall, fileId: string): Promise<void> {
  const { ctx } = call;
  const r = await fileIn(ctx.db, call.key.orgIds, fileId);
  if (!r) throw notVisible('file');
  const targets = [
    { type: 'compliance_key', id: call.key.id, name: call.key.name },
    { type: 'file', id: r.id },
    { type: 'user', id: r.user_id },
  ];
  const refused = await ctx.db.transaction().execute(async (tx) => {
    const hold = await holdCovering(tx, r.org_id, r.user_id);
    if (hold) {
      await recordAudit(tx, ctx, {
        orgId: r.org_id,
        action: 'compliance.content_deleted',
        outcome: 'denied',
        targets,
        metadata: { resource: 'file', reason: 'legal_hold', holdScope: hold },
      });
      return hold;
    }
    await eraseFile(tx, r.id);
    await recordAudit(tx, ctx, {
      orgId: r.org_id,
      action: 'compliance.content_deleted',
      targets,
      metadata: { resource: 'file', sizeBytes: Number(r.size_bytes), sha256: r.sha256 },
    });
    return null;
  });
  if (refused) throw legalHoldRefusal('file', refused);
  // The destroyed content key's page must not linger in SQLite's WAL.
  await flushErasedPages(ctx.db);
}
