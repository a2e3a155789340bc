import type { PalisadeConfig } from '../config.js';
import { type LoadedContentKey, destroyContentKeys, openRecord, openRecordText } from '../crypto/content-keys.js';
import { flushErasedPages } from '../db/wal.js';
import type { Queryable } from '../db/schema.js';

/**
 * The one place the Compliance API opens and erases workspace content. It reads the records the
 * way src/workspace/ writes them (same tables, same record references for the associated data),
 * through src/crypto/content-keys.ts (a content key per conversation and per file, destroyed with
 * the content). When the workspace changes how content is sealed or erased, this file follows it
 * and nothing else in src/compliance/ changes.
 */
export const conversationRef = (orgId: string, id: string) => ({
  orgId,
  table: 'workspace_conversations',
  recordId: id,
});
export const messageRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_messages', recordId: id });
export const fileNameRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_files.name', recordId: id });
export const fileDataRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_files', recordId: id });

export type ContentStatus = 'available' | 'shredded' | 'not_retained';

/** A conversation's title: null when none was kept (zero retention) or the keys were destroyed. */
export async function openConversationTitle(
  db: Queryable,
  config: PalisadeConfig,
  c: { id: string; org_id: string; title_ct: string | null; key_version: number | null; content_key_id: string | null },
  keys?: Map<string, LoadedContentKey>,
): Promise<{ title: string | null; status: ContentStatus }> {
  if (c.title_ct === null || c.key_version === null)
    return { title: null, status: c.content_key_id ? 'available' : 'not_retained' };
  const title = await openRecordText(
    db,
    config,
    conversationRef(c.org_id, c.id),
    { ct: c.title_ct, keyVersion: Number(c.key_version), contentKeyId: c.content_key_id },
    keys,
  );
  return { title, status: title === null ? 'shredded' : 'available' };
}

export async function openMessage(
  db: Queryable,
  config: PalisadeConfig,
  m: { id: string; org_id: string; content_ct: string; key_version: number; content_key_id: string | null },
  keys?: Map<string, LoadedContentKey>,
): Promise<string | null> {
  return openRecordText(
    db,
    config,
    messageRef(m.org_id, m.id),
    { ct: m.content_ct, keyVersion: Number(m.key_version), contentKeyId: m.content_key_id },
    keys,
  );
}

export async function openFileName(
  db: Queryable,
  config: PalisadeConfig,
  f: { id: string; org_id: string; name_ct: string; key_version: number; content_key_id: string | null },
): Promise<string | null> {
  return openRecordText(db, config, fileNameRef(f.org_id, f.id), {
    ct: f.name_ct,
    keyVersion: Number(f.key_version),
    contentKeyId: f.content_key_id,
  });
}

export async function openFileData(
  db: Queryable,
  config: PalisadeConfig,
  f: { id: string; org_id: string; content_ct: string; key_version: number; content_key_id: string | null },
): Promise<Buffer | null> {
  const o = await openRecord(db, config, fileDataRef(f.org_id, f.id), {
    ct: f.content_ct,
    keyVersion: Number(f.key_version),
    contentKeyId: f.content_key_id,
  });
  return o.ok ? o.data : null;
}

/**
 * Erases a conversation and its messages as the workspace's own delete does: the rows, and the
 * content keys they were sealed under (crypto-erasure), in the caller's transaction. After it
 * commits, call `flushErasedPages` (SQLite's WAL). Returns the message count and keys destroyed.
 */
export async function eraseConversation(tx: Queryable, conversationId: string): Promise<number> {
  const conv = await tx
    .selectFrom('workspace_conversations')
    .select(['org_id', 'content_key_id'])
    .where('id', '=', conversationId)
    .executeTakeFirst();
  const msgKeys = await tx
    .selectFrom('workspace_messages')
    .select('content_key_id')
    .distinct()
    .where('conversation_id', '=', conversationId)
    .where('content_key_id', 'is not', null)
    .execute();
  const m = await tx.deleteFrom('workspace_messages').where('conversation_id', '=', conversationId).executeTakeFirst();
  await tx.deleteFrom('workspace_conversations').where('id', '=', conversationId).execute();
  if (conv)
    await destroyContentKeys(tx, conv.org_id, [
      ...new Set([conv.content_key_id, ...msgKeys.map((k) => k.content_key_id)]),
    ]);
  return Number(m.numDeletedRows);
}

export async function eraseFile(tx: Queryable, fileId: string): Promise<void> {
  const f = await tx
    .selectFrom('workspace_files')
    .select(['org_id', 'content_key_id'])
    .where('id', '=', fileId)
    .executeTakeFirst();
  await tx.deleteFrom('workspace_files').where('id', '=', fileId).execute();
  if (f) await destroyContentKeys(tx, f.org_id, [f.content_key_id]);
}

export { flushErasedPages };
