import type { PalisadeConfig } from '../config.js';
import { openFor, openText } from '../crypto/data-keys.js';
import type { Queryable } from '../db/schema.js';

/**
 * The one place the Compliance API opens and erases workspace content. It reads the records the
 * way src/workspace/ writes them (same tables, same record references for the associated data),
 * through the decrypt helpers of src/crypto/data-keys.ts. When the workspace changes how content
 * is sealed or erased (per-conversation data keys, issue 13), this file follows it and nothing
 * else in src/compliance/ changes.
 */
export const conversationRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_conversations', recordId: id });
export const messageRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_messages', recordId: id });
export const fileNameRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_files.name', recordId: id });
export const fileDataRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_files', recordId: id });

export type ContentStatus = 'available' | 'shredded' | 'not_retained';

/** A conversation's title: null when none was kept (zero retention) or the keys were destroyed. */
export async function openConversationTitle(db: Queryable, config: PalisadeConfig, c: { id: string; org_id: string; title_ct: string | null; key_version: number | null }): Promise<{ title: string | null; status: ContentStatus }> {
  if (c.title_ct === null || c.key_version === null) return { title: null, status: 'not_retained' };
  const title = await openText(db, config, conversationRef(c.org_id, c.id), c.title_ct, Number(c.key_version));
  return { title, status: title === null ? 'shredded' : 'available' };
}

export async function openMessage(db: Queryable, config: PalisadeConfig, m: { id: string; org_id: string; content_ct: string; key_version: number }): Promise<string | null> {
  return openText(db, config, messageRef(m.org_id, m.id), m.content_ct, Number(m.key_version));
}

export async function openFileName(db: Queryable, config: PalisadeConfig, f: { id: string; org_id: string; name_ct: string; key_version: number }): Promise<string | null> {
  return openText(db, config, fileNameRef(f.org_id, f.id), f.name_ct, Number(f.key_version));
}

export async function openFileData(db: Queryable, config: PalisadeConfig, f: { id: string; org_id: string; content_ct: string; key_version: number }): Promise<Buffer | null> {
  const o = await openFor(db, config, fileDataRef(f.org_id, f.id), f.content_ct, Number(f.key_version));
  return o.ok ? o.data : null;
}

/** Erases a conversation and its messages, as the workspace's own delete does; returns the message count. */
export async function eraseConversation(tx: Queryable, conversationId: string): Promise<number> {
  const m = await tx.deleteFrom('workspace_messages').where('conversation_id', '=', conversationId).executeTakeFirst();
  await tx.deleteFrom('workspace_conversations').where('id', '=', conversationId).execute();
  return Number(m.numDeletedRows);
}

export async function eraseFile(tx: Queryable, fileId: string): Promise<void> {
  await tx.deleteFrom('workspace_files').where('id', '=', fileId).execute();
}
