import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { activeHolds } from '../policy/policy.js';
import { type ComplianceCall, organizationsOf } from './call.js';
import { eraseConversation, flushErasedPages, openConversationTitle, openMessage } from './content.js';
import { type ContentFilters, type ContentListQuery, contentFilters, cursorPage } from './content-lists.js';
import { complianceError, notVisible } from './errors.js';
import { cursorOf, cursorParams, limitParam } from './query.js';
import { conversationIn, emailsOf } from './store.js';

/** Chats (workspace conversations and retained gateway exchanges), their messages, and their deletion. */
export const ChatView = Type.Object({
  id: Type.String(),
  organization_id: Type.String(),
  user: Type.Object({ id: Type.String(), email_address: Type.Union([Type.String(), Type.Null()]) }),
  name: Type.Union([Type.String(), Type.Null()], {
    description: 'The title, decrypted; null when none was kept or the content was crypto-shredded.',
  }),
  source: Type.String({ description: 'workspace (the chat) or gateway (a retained model API exchange).' }),
  content_status: Type.String({ description: 'available, shredded (keys destroyed) or not_retained.' }),
  created_at: Type.String(),
  updated_at: Type.String(),
  last_message_at: Type.String(),
});
export type ChatView = Static<typeof ChatView>;

export async function listChats(call: ComplianceCall, query: ContentListQuery) {
  const { ctx } = call;
  const f = contentFilters(query);
  const orgIds = organizationsOf(call, f.organizationIds);
  const rows = orgIds.length ? await chatRows(ctx, orgIds, f) : [];
  const page = cursorPage(rows, f);
  const emails = await emailsOf(
    ctx.db,
    page.data.map((r) => r.user_id),
  );
  const data: ChatView[] = [];
  for (const r of page.data) {
    const t = await openConversationTitle(ctx.db, ctx.config, r);
    data.push({
      id: r.id,
      organization_id: r.org_id,
      user: { id: r.user_id, email_address: emails.get(r.user_id) ?? null },
      name: t.title,
      source: r.source,
      content_status: t.status,
      created_at: r.created_at,
      updated_at: r.updated_at,
      last_message_at: r.last_message_at,
    });
  }
  // Titles are content: which ones this key read is recorded, per organization.
  await auditReads(
    ctx,
    call,
    'chat_titles',
    data
      .filter((c) => c.name !== null)
      .map((c) => ({ orgId: c.organization_id, id: c.id, userId: c.user.id, bytes: Buffer.byteLength(c.name ?? '') })),
    'conversation',
  );
  return { ...page, data };
}

async function chatRows(ctx: Ctx, orgIds: string[], f: ContentFilters) {
  const dir = f.cursor?.direction === 'before' ? 'asc' : 'desc';
  let q = ctx.db.selectFrom('workspace_conversations').selectAll().where('org_id', 'in', orgIds);
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

/**
 * One `compliance.content_read` event per organization whose content a request returned: the key
 * (actor), what kind of content, which records and whose, and how many bytes. Never the content.
 */
export async function auditReads(
  ctx: Ctx,
  call: ComplianceCall,
  resource: string,
  items: { orgId: string; id: string; userId: string; bytes: number }[],
  targetType: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  if (items.length === 0) return;
  const byOrg = new Map<string, typeof items>();
  for (const i of items) byOrg.set(i.orgId, [...(byOrg.get(i.orgId) ?? []), i]);
  await ctx.db.transaction().execute(async (tx) => {
    for (const [orgId, list] of byOrg) {
      const users = [...new Set(list.map((i) => i.userId))];
      await recordAudit(tx, ctx, {
        orgId,
        action: 'compliance.content_read',
        targets: [
          { type: 'compliance_key', id: call.key.id, name: call.key.name },
          ...list.map((i) => ({ type: targetType, id: i.id })),
          ...users.map((u) => ({ type: 'user', id: u })),
        ],
        metadata: {
          resource,
          records: list.length,
          bytes: list.reduce((n, i) => n + i.bytes, 0),
          owners: users.length,
          ...extra,
        },
      });
    }
  });
}

export const MessagesQuery = Type.Object(
  { ...cursorParams, ...limitParam(1000, 100) },
  { additionalProperties: false },
);
export type MessagesQuery = Static<typeof MessagesQuery>;

export const MessageView = Type.Object({
  id: Type.String(),
  role: Type.String({ description: 'user or assistant.' }),
  content: Type.Union([Type.String(), Type.Null()], {
    description: 'Decrypted text; null when the content was crypto-shredded.',
  }),
  content_status: Type.String(),
  size_bytes: Type.Integer(),
  model: Type.Union([Type.String(), Type.Null()]),
  input_tokens: Type.Union([Type.Integer(), Type.Null()]),
  output_tokens: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Type.String(),
});

/** A chat's messages in the order they were written, decrypted; every call is audited with who read what. */
export async function listMessages(call: ComplianceCall, chatId: string, query: MessagesQuery) {
  const { ctx } = call;
  const chat = await conversationIn(ctx.db, call.key.orgIds, chatId);
  if (!chat) throw notVisible('chat');
  const cursor = cursorOf(query);
  const limit = query.limit ?? 100;
  let q = ctx.db
    .selectFrom('workspace_messages')
    .selectAll()
    .where('conversation_id', '=', chat.id)
    .where('org_id', '=', chat.org_id);
  if (cursor) q = q.where('id', cursor.direction === 'after' ? '>' : '<', cursor.id);
  const rows = await q
    .orderBy('id', cursor?.direction === 'before' ? 'desc' : 'asc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  if (cursor?.direction === 'before') page.reverse();
  const data: Static<typeof MessageView>[] = [];
  let bytes = 0;
  for (const m of page) {
    const content = await openMessage(ctx.db, ctx.config, m);
    if (content !== null) bytes += Buffer.byteLength(content);
    data.push({
      id: m.id,
      role: m.role,
      content,
      content_status: content === null ? 'shredded' : 'available',
      size_bytes: Number(m.size_bytes),
      model: m.model,
      input_tokens: m.input_tokens === null ? null : Number(m.input_tokens),
      output_tokens: m.output_tokens === null ? null : Number(m.output_tokens),
      created_at: m.created_at,
    });
  }
  await ctx.db.transaction().execute((tx) =>
    recordAudit(tx, ctx, {
      orgId: chat.org_id,
      action: 'compliance.content_read',
      targets: [
        { type: 'compliance_key', id: call.key.id, name: call.key.name },
        { type: 'conversation', id: chat.id },
        { type: 'user', id: chat.user_id },
      ],
      metadata: {
        resource: 'chat_messages',
        records: data.length,
        bytes,
        firstMessageId: data[0]?.id ?? null,
        lastMessageId: data[data.length - 1]?.id ?? null,
      },
    }),
  );
  return {
    data,
    has_more: rows.length > limit,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
  };
}

/** The legal hold covering a person's content in an organization, if any (the workspace's own rule). */
export async function holdCovering(
  db: Queryable,
  orgId: string,
  userId: string,
): Promise<'organization' | 'user' | null> {
  const holds = await activeHolds(db, orgId);
  if (holds.orgHeld) return 'organization';
  return holds.users.has(userId) ? 'user' : null;
}

export function legalHoldRefusal(what: 'chat' | 'file', scope: 'organization' | 'user') {
  return complianceError(
    'legal_hold',
    `This ${what} is under a legal hold (${scope === 'organization' ? 'on the whole organization' : 'on this person'}) and cannot be deleted. Ask the organization's admins to lift the hold when the matter is closed, then delete it.`,
    {
      holdScope: scope,
    },
  );
}

export async function deleteChat(call: ComplianceCall, chatId: string): Promise<void> {
  const { ctx } = call;
  const chat = await conversationIn(ctx.db, call.key.orgIds, chatId);
  if (!chat) throw notVisible('chat');
  const targets = [
    { type: 'compliance_key', id: call.key.id, name: call.key.name },
    { type: 'conversation', id: chat.id },
    { type: 'user', id: chat.user_id },
  ];
  const refused = await ctx.db.transaction().execute(async (tx) => {
    const hold = await holdCovering(tx, chat.org_id, chat.user_id);
    if (hold) {
      await recordAudit(tx, ctx, {
        orgId: chat.org_id,
        action: 'compliance.content_deleted',
        outcome: 'denied',
        targets,
        metadata: { resource: 'chat', reason: 'legal_hold', holdScope: hold },
      });
      return hold;
    }
    const messages = await eraseConversation(tx, chat.id);
    await recordAudit(tx, ctx, {
      orgId: chat.org_id,
      action: 'compliance.content_deleted',
      targets,
      metadata: { resource: 'chat', messages, source: chat.source },
    });
    return null;
  });
  if (refused) throw legalHoldRefusal('chat', refused);
  // The destroyed content key's page must not linger in SQLite's WAL.
  await flushErasedPages(ctx.db);
}
