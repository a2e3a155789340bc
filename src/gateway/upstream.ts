import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { PalisadeConfig } from '../config.js';
import type { Ctx } from '../context.js';
import { openText, sealFor } from '../crypto/data-keys.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError, badRequest } from '../errors.js';
import { newId } from '../ids.js';
import { assertDestinationAllowed } from '../net/outbound.js';
import { authorize } from '../orgs/authorize.js';

/** The model provider an organization's requests go to: the Anthropic API, or any compatible server. */
export const UpstreamInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    kind: Type.Union([Type.Literal('anthropic'), Type.Literal('openai')], {
      description: 'anthropic: speaks the Messages API; openai: speaks /v1/chat/completions (vLLM, Ollama…).',
    }),
    baseUrl: Type.String({ maxLength: 500, description: 'e.g. https://api.anthropic.com or http://127.0.0.1:11434' }),
    apiKey: Type.Optional(
      Type.Unsafe<string | null>({
        type: ['string', 'null'],
        minLength: 1,
        maxLength: 1000,
        description: 'Stored encrypted with the organization data key; never shown again.',
      }),
    ),
    allowedModels: Type.Optional(
      Type.Unsafe<string[] | null>({
        type: ['array', 'null'],
        items: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^*]+\\*?$' },
        maxItems: 200,
        description:
          'Models members may use: exact names or a prefix ending in * ("claude-sonnet-*"). null or omitted on creation: every model the provider offers.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type UpstreamInput = Static<typeof UpstreamInput>;

export const UpstreamView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  baseUrl: Type.String(),
  hasCredential: Type.Boolean(),
  allowedModels: Type.Union([Type.Array(Type.String()), Type.Null()]),
  updatedAt: Type.String(),
});
export type UpstreamView = Static<typeof UpstreamView>;

export interface UpstreamTarget {
  id: string;
  kind: 'anthropic' | 'openai';
  baseUrl: string;
  apiKey: string | null;
  /** null: every model the provider offers. */
  allowedModels: string[] | null;
}

const parseAllowed = (raw: string | null): string[] | null => (raw === null ? null : (JSON.parse(raw) as string[]));

/** Whether the organization allows a model: an exact name, or a prefix pattern ending in "*". */
export function modelAllowed(allowed: string[] | null, model: string): boolean {
  if (allowed === null) return true;
  return allowed.some((p) => (p.endsWith('*') ? model.startsWith(p.slice(0, -1)) : model === p));
}

/** Refuses (403, audited as denied) a model outside the organization's list, before anything leaves. */
export async function assertModelAllowed(
  ctx: Ctx,
  orgId: string,
  target: UpstreamTarget,
  model: string,
  endpoint: string,
): Promise<void> {
  if (modelAllowed(target.allowedModels, model)) return;
  await ctx.db.transaction().execute((tx) =>
    recordAudit(tx, ctx, {
      orgId,
      action: 'gateway.request_handled',
      outcome: 'denied',
      targets: [{ type: 'gateway_upstream', id: target.id }],
      metadata: { endpoint, model, reason: 'model_not_allowed' },
    }),
  );
  throw new PalisadeError(
    403,
    'model_not_allowed',
    `This organization does not allow the model "${model.slice(0, 100)}". Use one listed by GET /v1/models, or ask an admin to allow it.`,
    { details: { model: model.slice(0, 100) } },
  );
}

const ref = (orgId: string, id: string) => ({ orgId, table: 'gateway_upstreams', recordId: id });

export async function setUpstream(ctx: Ctx, orgId: string, input: UpstreamInput): Promise<UpstreamView> {
  await authorize(ctx, orgId, 'org.update');
  let url: URL;
  try {
    url = new URL(input.baseUrl);
  } catch {
    throw badRequest(
      'invalid_upstream_url',
      'baseUrl must be an absolute http:// or https:// URL, for example https://api.anthropic.com.',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw badRequest('invalid_upstream_url', 'baseUrl must use http:// or https://.');
  // Checked again at every request (src/net/outbound.ts); here it is a clear 400 for the admin.
  await assertDestinationAllowed(ctx.config, url.hostname);
  const baseUrl = input.baseUrl.replace(/\/+$/, '');
  const now = ctx.clock.now();
  const at = now.toISOString();
  return ctx.db.transaction().execute(async (tx) => {
    const existing = await tx
      .selectFrom('gateway_upstreams')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('is_default', '=', 1)
      .executeTakeFirst();
    const id = existing?.id ?? newId('gup', now);
    let credential_ct = existing?.credential_ct ?? null;
    let key_version = existing?.key_version ?? null;
    if (input.apiKey === null) {
      credential_ct = null;
      key_version = null;
    } else if (input.apiKey !== undefined) {
      const s = await sealFor(tx, ctx.config, now, ref(orgId, id), input.apiKey);
      credential_ct = s.ct;
      key_version = s.keyVersion;
    }
    const allowed =
      input.allowedModels !== undefined ? input.allowedModels : parseAllowed(existing?.allowed_models ?? null);
    const row = {
      id,
      org_id: orgId,
      name: input.name,
      kind: input.kind,
      base_url: baseUrl,
      credential_ct,
      key_version,
      is_default: 1,
      allowed_models: allowed === null ? null : JSON.stringify([...new Set(allowed)]),
      created_at: existing?.created_at ?? at,
      updated_at: at,
    };
    if (existing) await tx.updateTable('gateway_upstreams').set(row).where('id', '=', id).execute();
    else await tx.insertInto('gateway_upstreams').values(row).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'gateway.upstream_configured',
      targets: [{ type: 'gateway_upstream', id, name: input.name }],
      metadata: {
        kind: input.kind,
        baseUrl,
        credentialChanged: input.apiKey !== undefined,
        hasCredential: credential_ct !== null,
        allowedModels: parseAllowed(row.allowed_models),
      },
    });
    return {
      id,
      name: row.name,
      kind: row.kind,
      baseUrl,
      hasCredential: credential_ct !== null,
      allowedModels: parseAllowed(row.allowed_models),
      updatedAt: at,
    };
  });
}

export async function getUpstreamView(ctx: Ctx, orgId: string): Promise<UpstreamView | null> {
  await authorize(ctx, orgId, 'org.update');
  const r = await ctx.db
    .selectFrom('gateway_upstreams')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('is_default', '=', 1)
    .executeTakeFirst();
  return r
    ? {
        id: r.id,
        name: r.name,
        kind: r.kind,
        baseUrl: r.base_url,
        hasCredential: r.credential_ct !== null,
        allowedModels: parseAllowed(r.allowed_models),
        updatedAt: r.updated_at,
      }
    : null;
}

/** The organization's upstream with its credential decrypted, for one request. */
export async function loadUpstream(db: Queryable, config: PalisadeConfig, orgId: string): Promise<UpstreamTarget> {
  const r = await db
    .selectFrom('gateway_upstreams')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('is_default', '=', 1)
    .executeTakeFirst();
  if (!r)
    throw new PalisadeError(
      409,
      'no_upstream_configured',
      'This organization has no model provider configured. An admin sets one with PUT /api/v1/orgs/{orgId}/gateway/upstream.',
    );
  let apiKey: string | null = null;
  if (r.credential_ct !== null && r.key_version !== null) {
    apiKey = await openText(db, config, ref(orgId, r.id), r.credential_ct, Number(r.key_version));
    if (apiKey === null)
      throw new PalisadeError(
        409,
        'upstream_credential_shredded',
        "The model provider credential was encrypted with this organization's destroyed keys; an admin must enter it again (PUT /api/v1/orgs/{orgId}/gateway/upstream with apiKey).",
      );
  }
  return { id: r.id, kind: r.kind, baseUrl: r.base_url, apiKey, allowedModels: parseAllowed(r.allowed_models) };
}

/** The outbound policy refused the provider's address at request time (DNS changed, or the policy did): not the caller's fault, so a 502. */
export function upstreamDenied(err: PalisadeError): PalisadeError {
  return new PalisadeError(502, 'upstream_unreachable', `The model provider could not be reached: ${err.message}`, {
    details: { ...err.details, reason: err.code },
  });
}

export const NO_TRAINING_HEADER = 'palisade-no-training';

/**
 * Headers for an upstream request. The no-training policy travels as a header every compatible
 * server can read, and (OpenAI shape) as `store: false` in the body; the audit event records it.
 */
export function upstreamHeaders(
  target: UpstreamTarget,
  noTraining: boolean,
  passthrough: Record<string, string | undefined> = {},
): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': 'application/json',
    [NO_TRAINING_HEADER]: noTraining ? 'true' : 'false',
  };
  if (target.kind === 'anthropic') {
    h['anthropic-version'] = passthrough['anthropic-version'] ?? '2023-06-01';
    if (passthrough['anthropic-beta']) h['anthropic-beta'] = passthrough['anthropic-beta'];
    if (target.apiKey) h['x-api-key'] = target.apiKey;
  } else if (target.apiKey) {
    h.authorization = `Bearer ${target.apiKey}`;
  }
  return h;
}

export function upstreamUrl(
  target: UpstreamTarget,
  path: '/v1/messages' | '/v1/chat/completions' | '/v1/messages/count_tokens' | '/v1/models',
): string {
  return `${target.baseUrl}${path}`;
}

/** Headers of the provider's answer that the client's SDK acts on: retry timing and rate limits, and its request id under a name of its own. */
const SIGNAL_HEADER =
  /^(retry-after|retry-after-ms|x-should-retry|x-ratelimit-[a-z0-9-]+|anthropic-ratelimit-[a-z0-9-]+)$/;

export function upstreamSignals(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (SIGNAL_HEADER.test(name)) out[name] = value.slice(0, 200);
  });
  const upstreamId = headers.get('request-id') ?? headers.get('x-request-id');
  if (upstreamId) out['upstream-request-id'] = upstreamId.slice(0, 200);
  return out;
}
