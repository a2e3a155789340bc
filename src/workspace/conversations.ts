import { Type, type Static } from '@sinclair/typebox';
import { insertWithAudit } from '../audit/insert-with-audit.js';
import { recordAudit } from '../audit/record.js';
import { promptAuditFields } from '../audit/content-privacy.js';
import type { Ctx } from '../context.js';
import {
  type ContentKey,
  type LoadedContentKey,
  createContentKey,
  newContentKey,
  destroyContentKeys,
  loadContentKey,
  openRecordText,
  sealWithContentKey,
} from '../crypto/content-keys.js';
import { flushErasedPages } from '../db/wal.js';
import type { Queryable } from '../db/schema.js';
import { currentDataKeyCached, dataKeyOf } from '../crypto/data-keys.js';
import { PalisadeError, notFound } from '../errors.js';
import { completeText } from '../gateway/complete.js';
import { recordUsage } from '../gateway/usage.js';
import { assertModelAllowed, loadUpstream } from '../gateway/upstream.js';
import { type Page, type PageRequest, pageOf, pageQuery } from '../http/pagination.js';
import { newId } from '../ids.js';
import { authorizeWorkspace } from '../policy/network.js';
import { requireUser } from '../auth/require-user.js';
import { activeHolds } from '../policy/policy.js';

export const ConversationView = Type.Object({
  id: Type.String(),
  title: Type.Union([Type.String(), Type.Null()]),
  source: Type.String(),
  /** "shredded" when the organization's keys were destroyed: the record exists, its content cannot be read. */
  contentStatus: Type.Union([Type.Literal('available'), Type.Literal('shredded'), Type.Literal('not_retained')]),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  lastMessageAt: Type.String(),
});
export type ConversationView = Static<typeof ConversationView>;

export const MessageView = Type.Object({
  id: Type.String(),
  role: Type.String(),
  content: Type.Union([Type.String(), Type.Null()]),
  contentStatus: Type.Union([Type.Literal('available'), Type.Literal('shredded')]),
  sizeBytes: Type.Integer(),
  model: Type.Union([Type.String(), Type.Null()]),
  inputTokens: Type.Union([Type.Integer(), Type.Null()]),
  outputTokens: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.String(),
});
export type MessageView = Static<typeof MessageView>;

export const CreateConversationInput = Type.Object(
  { title: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) },
  { additionalProperties: false },
);
export const RenameConversationInput = Type.Object(
  { title: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false },
);
export const SendMessageInput = Type.Object(
  {
    content: Type.String({ minLength: 1, maxLength: 200_000 }),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    maxTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 64_000 })),
  },
  { additionalProperties: false },
);
export type SendMessageInput = Static<typeof SendMessageInput>;

export const DEFAULT_MODEL = 'claude-sonnet-4-5';

type ConvRow = {
  id: string;
  org_id: string;
  user_id: string;
  source: string;
  title_ct: string | null;
  key_version: number | null;
  content_key_id: string | null;
  created_at: string;
  updated_at: string;
  last_message_at: string;
};
const convRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_conversations', recordId: id });
const msgRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_messages', recordId: id });

/**
 * Content status comes from the conversation's content key, not from its title: a gateway
 * conversation has no title but its retained exchange is "available". Without a content key, a
 * conversation sealed before content keys existed is judged by its title or its messages.
 */
async function view(
  db: Queryable,
  ctx: Ctx,
  r: ConvRow,
  keys: Map<string, LoadedContentKey> = new Map(),
): Promise<ConversationView> {
  let title: string | null = null;
  let status: ConversationView['contentStatus'] = 'not_retained';
  if (r.title_ct !== null && r.key_version !== null) {
    title = await openRecordText(
      db,
      ctx.config,
      convRef(r.org_id, r.id),
      { ct: r.title_ct, keyVersion: Number(r.key_version), contentKeyId: r.content_key_id },
      keys,
    );
    status = title === null ? 'shredded' : 'available';
  } else if (r.content_key_id !== null) {
    let k = keys.get(r.content_key_id);
    if (!k) {
      k = await loadContentKey(db, ctx.config, r.org_id, r.content_key_id);
      keys.set(r.content_key_id, k);
    }
    status = k.ok ? 'available' : 'shredded';
  } else {
    const m = await db
      .selectFrom('workspace_messages')
      .select('key_version')
      .where('conversation_id', '=', r.id)
      .where('org_id', '=', r.org_id)
      .limit(1)
      .executeTakeFirst();
    if (m)
      status =
        (await dataKeyOf(db, ctx.config, r.org_id, Number(m.key_version)))?.ok === false ? 'shredded' : 'available';
  }
  return {
    id: r.id,
    title,
    source: r.source,
    contentStatus: status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastMessageAt: r.last_message_at,
  };
}

/** The conversation's content key, created (and recorded on the conversation) on its first retained content. */
async function contentKeyFor(
  tx: Queryable,
  ctx: Ctx,
  conv: { id: string; org_id: string; content_key_id: string | null },
  now: Date,
): Promise<ContentKey> {
  if (conv.content_key_id !== null) {
    const k = await loadContentKey(tx, ctx.config, conv.org_id, conv.content_key_id);
    if (k.ok) return k.key;
    if (k.reason === 'shredded')
      throw new PalisadeError(
        410,
        'content_shredded',
        "This conversation was encrypted with the organization's destroyed keys (crypto-shredded); start a new conversation.",
      );
  }
  const key = await createContentKey(tx, ctx.config, now, conv.org_id);
  await tx
    .updateTable('workspace_conversations')
    .set({ content_key_id: key.id })
    .where('id', '=', conv.id)
    .where('org_id', '=', conv.org_id)
    .execute();
  return key;
}

/** Legal holds freeze deletion: the conversation or file stays, with its key, until the hold is lifted. */
export async function assertNotHeld(
  db: Queryable,
  orgId: string,
  userId: string,
  what: 'conversation' | 'file',
): Promise<void> {
  const holds = await activeHolds(db, orgId);
  if (holds.orgHeld || holds.users.has(userId)) {
    throw new PalisadeError(
      409,
      'legal_hold_active',
      `This ${what} is under a legal hold and cannot be deleted until an admin lifts the hold. It stays readable to you meanwhile.`,
    );
  }
}

/** The same check before a deletion, with the attempt audited as denied (a deletion tried under hold matters to a review). */
export async function refuseDeletionUnderHold(
  ctx: Ctx,
  orgId: string,
  userId: string,
  what: 'conversation' | 'file',
  id: string,
): Promise<void> {
  try {
    await assertNotHeld(ctx.db, orgId, userId, what);
  } catch (err) {
    await ctx.db.transaction().execute((tx) =>
      recordAudit(tx, ctx, {
        orgId,
        action: `${what}.deleted`,
        outcome: 'denied',
        targets: [{ type: what, id }],
        metadata: { reason: 'legal_hold_active' },
      }),
    );
    throw err;
  }
}

/** A member's own conversation; anyone else's answers exactly like a missing one. */
async function ownConversation(db: Queryable, orgId: string, userId: string, id: string): Promise<ConvRow> {
  const r = await db
    .selectFrom('workspace_conversations')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!r) throw notFound('conversation');
  return r;
}

export async function createConversation(
  ctx: Ctx,
  orgId: string,
  input: Static<typeof CreateConversationInput>,
): Promise<ConversationView> {
  const { policy } = await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  const now = ctx.clock.now();
  const at = now.toISOString();
  const id = newId('cnv', now);
  // Under zero retention even the title is content, so it is not kept (nor a key made for it).
  const key =
    input.title && policy.retentionDays > 0
      ? newContentKey(await currentDataKeyCached(ctx.db, ctx.config, orgId, now, ctx.meta), orgId, now)
      : null;
  const title_ct = key && input.title ? sealWithContentKey(key.key, convRef(orgId, id), input.title) : null;
  const row = {
    id,
    org_id: orgId,
    user_id: me.userId,
    source: 'workspace' as const,
    title_ct,
    key_version: key?.key.dkVersion ?? null,
    content_key_id: key?.key.id ?? null,
    retention_days: null,
    created_at: at,
    updated_at: at,
    last_message_at: at,
  };
  // The conversation, its key and its audit event commit together (src/audit/insert-with-audit.ts).
  await insertWithAudit(
    ctx,
    [
      ...(key ? [ctx.db.insertInto('content_keys').values(key.row)] : []),
      ctx.db.insertInto('workspace_conversations').values(row),
    ],
    [
      {
        orgId,
        action: 'conversation.created',
        targets: [{ type: 'conversation', id }],
        metadata: { titleBytes: input.title ? Buffer.byteLength(input.title) : 0 },
      },
    ],
  );
  // What view() would read back: the title just sealed, and no messages yet.
  return {
    id,
    title: title_ct !== null ? (input.title ?? null) : null,
    source: row.source,
    contentStatus: title_ct !== null ? 'available' : 'not_retained',
    createdAt: at,
    updatedAt: at,
    lastMessageAt: at,
  };
}

export async function listConversations(ctx: Ctx, orgId: string, page: PageRequest): Promise<Page<ConversationView>> {
  await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  const rows = await pageQuery(
    ctx.db
      .selectFrom('workspace_conversations')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('user_id', '=', me.userId),
    'workspace_conversations.id',
    page,
  ).execute();
  const views = [];
  const keys = new Map<string, LoadedContentKey>();
  for (const r of rows) views.push(await view(ctx.db, ctx, r, keys));
  return pageOf(views, page);
}

export async function getConversation(
  ctx: Ctx,
  orgId: string,
  id: string,
): Promise<{ conversation: ConversationView; messages: MessageView[] }> {
  await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  const r = await ownConversation(ctx.db, orgId, me.userId, id);
  const msgs = await ctx.db
    .selectFrom('workspace_messages')
    .selectAll()
    .where('conversation_id', '=', id)
    .where('org_id', '=', orgId)
    .orderBy('id')
    .execute();
  const messages: MessageView[] = [];
  const keys = new Map<string, LoadedContentKey>();
  for (const m of msgs) {
    const content = await openRecordText(
      ctx.db,
      ctx.config,
      msgRef(orgId, m.id),
      { ct: m.content_ct, keyVersion: Number(m.key_version), contentKeyId: m.content_key_id },
      keys,
    );
    messages.push({
      id: m.id,
      role: m.role,
      content,
      contentStatus: content === null ? 'shredded' : 'available',
      sizeBytes: Number(m.size_bytes),
      model: m.model,
      inputTokens: m.input_tokens === null ? null : Number(m.input_tokens),
      outputTokens: m.output_tokens === null ? null : Number(m.output_tokens),
      createdAt: m.created_at,
    });
  }
  return { conversation: await view(ctx.db, ctx, r, keys), messages };
}

export async function renameConversation(
  ctx: Ctx,
  orgId: string,
  id: string,
  input: Static<typeof RenameConversationInput>,
): Promise<ConversationView> {
  const { policy } = await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  return ctx.db.transaction().execute(async (tx) => {
    const r = await ownConversation(tx, orgId, me.userId, id);
    const now = ctx.clock.now();
    const key = policy.retentionDays > 0 ? await contentKeyFor(tx, ctx, r, now) : null;
    const title_ct = key ? sealWithContentKey(key, convRef(orgId, id), input.title) : null;
    const next = {
      ...r,
      title_ct,
      key_version: key?.dkVersion ?? null,
      content_key_id: key?.id ?? r.content_key_id,
      updated_at: now.toISOString(),
    };
    await tx
      .updateTable('workspace_conversations')
      .set({ title_ct: next.title_ct, key_version: next.key_version, updated_at: next.updated_at })
      .where('id', '=', id)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'conversation.renamed',
      targets: [{ type: 'conversation', id }],
      metadata: { titleBytes: Buffer.byteLength(input.title) },
    });
    return view(tx, ctx, next);
  });
}

export async function deleteConversation(ctx: Ctx, orgId: string, id: string): Promise<void> {
  await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  await ownConversation(ctx.db, orgId, me.userId, id);
  await refuseDeletionUnderHold(ctx, orgId, me.userId, 'conversation', id);
  await ctx.db.transaction().execute(async (tx) => {
    const conv = await ownConversation(tx, orgId, me.userId, id);
    // Again inside the transaction: a hold placed a moment ago still wins.
    await assertNotHeld(tx, orgId, me.userId, 'conversation');
    const msgKeys = await tx
      .selectFrom('workspace_messages')
      .select('content_key_id')
      .distinct()
      .where('conversation_id', '=', id)
      .where('content_key_id', 'is not', null)
      .execute();
    const m = await tx.deleteFrom('workspace_messages').where('conversation_id', '=', id).executeTakeFirst();
    await tx.deleteFrom('workspace_conversations').where('id', '=', id).execute();
    // The keys go with the conversation: any copy of its content left behind is now unreadable.
    const keysDestroyed = await destroyContentKeys(tx, orgId, [
      ...new Set([conv.content_key_id, ...msgKeys.map((k) => k.content_key_id)]),
    ]);
    await recordAudit(tx, ctx, {
      orgId,
      action: 'conversation.deleted',
      targets: [{ type: 'conversation', id }],
      metadata: { messages: Number(m.numDeletedRows), keysDestroyed },
    });
  });
  await flushErasedPages(ctx.db);
}

/**
 * Sends a prompt to the organization's model and stores both turns encrypted. Under zero retention
 * the turns live only while the response is produced: the caller gets them, nothing is kept.
 */
export async function sendMessage(
  ctx: Ctx,
  orgId: string,
  id: string,
  input: SendMessageInput,
  signal?: AbortSignal,
): Promise<{ messages: MessageView[]; retained: boolean }> {
  const { policy } = await authorizeWorkspace(ctx, orgId);
  const me = requireUser(ctx);
  const conv = await ownConversation(ctx.db, orgId, me.userId, id);
  const history =
    policy.retentionDays > 0
      ? (await getConversation(ctx, orgId, id)).messages
          .filter((m) => m.content !== null)
          .map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content as string }))
      : [];
  const target = await loadUpstream(ctx.db, ctx.config, orgId);
  const model = input.model ?? DEFAULT_MODEL;
  await assertModelAllowed(ctx, orgId, target, model, 'workspace');
  const completion = await completeText(
    ctx.config,
    target,
    { model, messages: [...history, { role: 'user', content: input.content }], maxTokens: input.maxTokens ?? 1024 },
    policy.noTraining,
    signal,
  );
  const now = ctx.clock.now();
  const at = now.toISOString();
  const turns = [
    {
      id: newId('msg', now),
      role: 'user' as const,
      text: input.content,
      model: null,
      inputTokens: null,
      outputTokens: null,
    },
    {
      id: newId('msg', now),
      role: 'assistant' as const,
      text: completion.text,
      model: completion.model,
      inputTokens: completion.inputTokens,
      outputTokens: completion.outputTokens,
    },
  ];
  const retained = policy.retentionDays > 0;
  await ctx.db.transaction().execute(async (tx) => {
    if (retained) {
      // Re-read: the conversation may have got its key (or been deleted) while the model answered.
      const key = await contentKeyFor(tx, ctx, await ownConversation(tx, orgId, me.userId, id), now);
      for (const t of turns) {
        const ct = sealWithContentKey(key, msgRef(orgId, t.id), t.text);
        await tx
          .insertInto('workspace_messages')
          .values({
            id: t.id,
            org_id: orgId,
            conversation_id: conv.id,
            role: t.role,
            content_ct: ct,
            key_version: key.dkVersion,
            content_key_id: key.id,
            size_bytes: Buffer.byteLength(t.text),
            model: t.model,
            input_tokens: t.inputTokens,
            output_tokens: t.outputTokens,
            created_at: at,
          })
          .execute();
      }
    }
    await tx
      .updateTable('workspace_conversations')
      .set({ last_message_at: at, updated_at: at })
      .where('id', '=', conv.id)
      .execute();
    await recordUsage(tx, {
      orgId,
      userId: me.userId,
      model: completion.model,
      inputTokens: completion.inputTokens,
      outputTokens: completion.outputTokens,
      at: now,
    });
    await recordAudit(tx, ctx, {
      orgId,
      action: 'conversation.message_sent',
      targets: [{ type: 'conversation', id: conv.id }, ...turns.map((t) => ({ type: 'message', id: t.id }))],
      metadata: {
        model: completion.model,
        promptBytes: Buffer.byteLength(input.content),
        responseBytes: Buffer.byteLength(completion.text),
        inputTokens: completion.inputTokens,
        outputTokens: completion.outputTokens,
        noTraining: policy.noTraining,
        retentionDays: policy.retentionDays,
        retained,
        // Metadata only, unless the organization opted in to prompt excerpts (src/audit/content-privacy.ts).
        ...(await promptAuditFields(tx, orgId, input.content)),
      },
    });
  });
  return {
    retained,
    messages: turns.map((t) => ({
      id: t.id,
      role: t.role,
      content: t.text,
      contentStatus: 'available' as const,
      sizeBytes: Buffer.byteLength(t.text),
      model: t.model,
      inputTokens: t.inputTokens,
      outputTokens: t.outputTokens,
      createdAt: at,
    })),
  };
}
