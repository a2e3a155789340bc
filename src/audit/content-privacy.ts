import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { badRequest } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import { orgLineage } from '../orgs/store.js';
import { recordAudit } from './record.js';

/**
 * Privacy tiers for prompt content in the audit log itself. By default an event about a prompt
 * (`conversation.message_sent`, `gateway.request_handled`) carries metadata only: ids, sizes, model and
 * token counts. An organization may opt in to excerpts: the first N characters of each prompt, in
 * `metadata.promptExcerpt`. Uploads always carry metadata only. The setting is inherited by child
 * organizations that set nothing themselves, like workspace retention.
 */
export const MAX_EXCERPT_CHARS = 1000;

export const AuditContentSettingsInput = Type.Object(
  {
    promptExcerptChars: Type.Optional(
      Type.Unsafe<number | null>({
        type: ['integer', 'null'],
        minimum: 1,
        maximum: MAX_EXCERPT_CHARS,
        description: `null: audit events of prompts carry metadata only (the default). 1–${MAX_EXCERPT_CHARS}: they also carry the first N characters of each prompt.`,
      }),
    ),
    inherit: Type.Optional(
      Type.Boolean({
        description: 'true: remove this organization’s own choice and follow its parent (or the default).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type AuditContentSettingsInput = Static<typeof AuditContentSettingsInput>;

export const AuditContentSettingsView = Type.Object({
  tier: Type.Union([Type.Literal('metadata'), Type.Literal('excerpts')]),
  promptExcerptChars: Type.Union([Type.Integer(), Type.Null()]),
  source: Type.Union([Type.Literal('organization'), Type.Literal('inherited'), Type.Literal('default')]),
  sourceOrgId: Type.Union([Type.String(), Type.Null()]),
});
export type AuditContentSettingsView = Static<typeof AuditContentSettingsView>;

export async function effectiveContentTier(db: Queryable, orgId: string): Promise<AuditContentSettingsView> {
  const lineage = await orgLineage(db, orgId);
  const ids = lineage.map((o) => o.id);
  const rows = ids.length
    ? await db
        .selectFrom('audit_content_settings')
        .select(['org_id', 'prompt_excerpt_chars'])
        .where('org_id', 'in', ids)
        .execute()
    : [];
  for (const id of ids) {
    const row = rows.find((r) => r.org_id === id);
    if (!row) continue;
    const chars = row.prompt_excerpt_chars === null ? null : Number(row.prompt_excerpt_chars);
    return {
      tier: chars ? 'excerpts' : 'metadata',
      promptExcerptChars: chars,
      source: id === orgId ? 'organization' : 'inherited',
      sourceOrgId: id,
    };
  }
  return { tier: 'metadata', promptExcerptChars: null, source: 'default', sourceOrgId: null };
}

/** Fields an audit event about a prompt adds to its metadata: nothing, unless the organization opted in. */
export async function promptAuditFields(
  db: Queryable,
  orgId: string,
  prompt: string | (() => string),
): Promise<{ promptExcerpt?: string; promptExcerptTruncated?: boolean }> {
  const { promptExcerptChars } = await effectiveContentTier(db, orgId);
  return promptExcerptFields(promptExcerptChars, prompt);
}

/** The excerpt fields for a tier already read (the gateway caches it, src/gateway/hot-path.ts). */
export function promptExcerptFields(
  promptExcerptChars: number | null,
  prompt: string | (() => string),
): { promptExcerpt?: string; promptExcerptTruncated?: boolean } {
  if (!promptExcerptChars) return {};
  const text = typeof prompt === 'function' ? prompt() : prompt;
  // Code points, not UTF-16 units: an excerpt never ends in half a character.
  const chars = Array.from(text);
  return {
    promptExcerpt: chars.slice(0, promptExcerptChars).join(''),
    promptExcerptTruncated: chars.length > promptExcerptChars,
  };
}

/**
 * The prompt of a model request: the text of its last user turn, in the Anthropic Messages or
 * OpenAI chat shape (a string, or text blocks).
 */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (!m || m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      return m.content
        .map((b: unknown) =>
          b &&
          typeof b === 'object' &&
          (b as { type?: unknown }).type === 'text' &&
          typeof (b as { text?: unknown }).text === 'string'
            ? (b as { text: string }).text
            : '',
        )
        .filter(Boolean)
        .join('\n');
    }
    return '';
  }
  return '';
}

export async function getAuditContentSettings(ctx: Ctx, orgId: string): Promise<AuditContentSettingsView> {
  await authorize(ctx, orgId, 'audit.read');
  return effectiveContentTier(ctx.db, orgId);
}

export async function updateAuditContentSettings(
  ctx: Ctx,
  orgId: string,
  input: AuditContentSettingsInput,
): Promise<AuditContentSettingsView> {
  await authorize(ctx, orgId, 'audit.content.manage');
  if (input.inherit !== true && input.promptExcerptChars === undefined) {
    throw badRequest(
      'content_tier_required',
      'Send "promptExcerptChars": null for metadata only, a number of characters (1–1000) for prompt excerpts, or "inherit": true to follow the parent organization.',
    );
  }
  return ctx.db.transaction().execute(async (tx) => {
    const before = await effectiveContentTier(tx, orgId);
    const at = ctx.clock.now().toISOString();
    const by = ctx.caller.kind === 'user' ? ctx.caller.userId : null;
    if (input.inherit) await tx.deleteFrom('audit_content_settings').where('org_id', '=', orgId).execute();
    else {
      const chars = input.promptExcerptChars ?? null;
      await tx
        .insertInto('audit_content_settings')
        .values({ org_id: orgId, prompt_excerpt_chars: chars, updated_at: at, updated_by: by })
        .onConflict((oc) =>
          oc.column('org_id').doUpdateSet({ prompt_excerpt_chars: chars, updated_at: at, updated_by: by }),
        )
        .execute();
    }
    const after = await effectiveContentTier(tx, orgId);
    await recordAudit(tx, ctx, {
      orgId,
      action: 'audit.content_tier_changed',
      targets: [{ type: 'organization', id: orgId }],
      metadata: {
        from: { tier: before.tier, promptExcerptChars: before.promptExcerptChars },
        to: { tier: after.tier, promptExcerptChars: after.promptExcerptChars },
        source: after.source,
      },
    });
    return after;
  });
}
