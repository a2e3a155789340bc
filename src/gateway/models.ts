import { recordAudit } from '../audit/record.js';
import { settleRequestSeal } from '../audit/seal.js';
import { PalisadeError } from '../errors.js';
import { DENIED_CODE, outboundFetch } from '../net/outbound.js';
import { gatewayPolicy, gatewayUpstream } from './hot-path.js';
import { gatewayError } from './errors.js';
import type { GatewayCall, Sink } from './proxy.js';
import {
  assertModelAllowed,
  modelAllowed,
  upstreamDenied,
  upstreamHeaders,
  upstreamSignals,
  upstreamUrl,
} from './upstream.js';

/** One model as the two API shapes describe it. */
export interface ModelEntry {
  id: string;
  displayName: string;
  createdAt: string;
}

export type ModelShape = 'anthropic' | 'openai';

const unreachable = (err: unknown) =>
  err instanceof PalisadeError && err.code === DENIED_CODE
    ? upstreamDenied(err)
    : new PalisadeError(
        502,
        'upstream_unreachable',
        'The model provider could not be reached. Try again; if it persists, an admin should check the provider URL.',
        { cause: err },
      );

/**
 * The models this organization may use: the provider's own list (either shape), filtered by the
 * organization's allowed models. A provider that cannot list models answers with the allowed
 * names that are exact (no patterns), so clients still see what they may call.
 */
export async function listModels(call: GatewayCall): Promise<ModelEntry[]> {
  const { ctx, orgId } = call;
  const target = await gatewayUpstream(ctx, orgId);
  const policy = await gatewayPolicy(ctx, orgId);
  let res: Response;
  try {
    const headers = upstreamHeaders(target, policy.noTraining);
    delete headers['content-type'];
    res = await outboundFetch(ctx.config)(`${upstreamUrl(target, '/v1/models')}?limit=1000`, {
      method: 'GET',
      headers,
    });
  } catch (err) {
    throw unreachable(err);
  }
  const json = (await res.json().catch(() => null)) as {
    data?: { id?: unknown; display_name?: unknown; created_at?: unknown; created?: unknown }[];
  } | null;
  let entries: ModelEntry[];
  if (res.ok && Array.isArray(json?.data)) {
    entries = json.data
      .filter((m) => typeof m.id === 'string')
      .map((m) => ({
        id: m.id as string,
        displayName: typeof m.display_name === 'string' ? m.display_name : (m.id as string),
        createdAt:
          typeof m.created_at === 'string'
            ? m.created_at
            : typeof m.created === 'number'
              ? new Date(m.created * 1000).toISOString()
              : new Date(0).toISOString(),
      }));
  } else {
    if (res.status === 401 || res.status === 403)
      throw new PalisadeError(
        502,
        'upstream_error',
        `The model provider refused to list models (${res.status}); an admin should check the provider credential.`,
        { details: { upstreamStatus: res.status } },
      );
    entries = (target.allowedModels ?? [])
      .filter((p) => !p.endsWith('*'))
      .map((id) => ({ id, displayName: id, createdAt: new Date(0).toISOString() }));
  }
  return entries.filter((m) => modelAllowed(target.allowedModels, m.id));
}

export function renderModelList(entries: ModelEntry[], shape: ModelShape): Record<string, unknown> {
  if (shape === 'openai') return { object: 'list', data: entries.map((m) => renderModel(m, 'openai')) };
  return {
    data: entries.map((m) => renderModel(m, 'anthropic')),
    has_more: false,
    first_id: entries[0]?.id ?? null,
    last_id: entries.at(-1)?.id ?? null,
  };
}

export function renderModel(m: ModelEntry, shape: ModelShape): Record<string, unknown> {
  return shape === 'openai'
    ? {
        id: m.id,
        object: 'model',
        // null, not NaN, for a date the provider sent unreadable (JSON had no NaN either way: the answer is unchanged).
        created: Number.isFinite(Date.parse(m.createdAt)) ? Math.floor(Date.parse(m.createdAt) / 1000) : null,
        owned_by: 'organization',
      }
    : { type: 'model', id: m.id, display_name: m.displayName, created_at: m.createdAt };
}

export async function getModel(call: GatewayCall, id: string): Promise<ModelEntry> {
  const found = (await listModels(call)).find((m) => m.id === id);
  if (!found)
    throw new PalisadeError(
      404,
      'model_not_found',
      `No model "${id.slice(0, 100)}" is available to this organization. GET /v1/models lists those that are.`,
    );
  return found;
}

/**
 * POST /v1/messages/count_tokens, forwarded to an Anthropic provider. The prompt leaves for the
 * provider as with a message, so the call is audited the same way (sizes only) and the model
 * must be allowed; nothing is retained and no usage is counted (nothing is generated).
 */
export async function countTokens(
  call: GatewayCall,
  body: Record<string, unknown>,
  passthrough: Record<string, string | undefined>,
  sink: Sink,
): Promise<void> {
  const { ctx, orgId } = call;
  if (typeof body.model !== 'string' || body.model.length === 0)
    throw new PalisadeError(400, 'invalid_request', 'model: Field required (a model name string).');
  if (!Array.isArray(body.messages))
    throw new PalisadeError(400, 'invalid_request', 'messages: Field required (an array of messages).');
  const target = await gatewayUpstream(ctx, orgId);
  await assertModelAllowed(ctx, orgId, target, body.model, '/v1/messages/count_tokens');
  if (target.kind !== 'anthropic')
    throw gatewayError(
      400,
      'upstream_protocol_mismatch',
      "This organization's model provider speaks the OpenAI API, which has no token-counting endpoint; count with your tokenizer, or use the usage of a response.",
    );
  const policy = await gatewayPolicy(ctx, orgId);
  const requestJson = JSON.stringify(body);
  let res: Response;
  try {
    res = await outboundFetch(ctx.config)(upstreamUrl(target, '/v1/messages/count_tokens'), {
      method: 'POST',
      headers: upstreamHeaders(target, policy.noTraining, passthrough),
      body: requestJson,
    });
  } catch (err) {
    throw unreachable(err);
  }
  const raw = new Uint8Array(await res.arrayBuffer());
  let inputTokens: number | null = null;
  try {
    inputTokens = res.ok
      ? Number((JSON.parse(Buffer.from(raw).toString('utf8')) as { input_tokens?: number }).input_tokens ?? null)
      : null;
  } catch {
    inputTokens = null;
  }
  await ctx.db.transaction().execute((tx) =>
    recordAudit(tx, ctx, {
      orgId,
      action: 'gateway.request_handled',
      outcome: res.ok ? 'success' : 'failure',
      targets: [
        ...(call.keyId ? [{ type: 'gateway_key', id: call.keyId }] : []),
        { type: 'gateway_upstream', id: target.id },
      ],
      metadata: {
        endpoint: '/v1/messages/count_tokens',
        model: body.model,
        upstreamStatus: res.status,
        requestBytes: Buffer.byteLength(requestJson),
        inputTokens,
        noTraining: policy.noTraining,
        retained: false,
      },
    }),
  );
  // Written by the gateway itself (no onSend): the event is sealed before the answer, as elsewhere.
  await settleRequestSeal(ctx.db, ctx.meta.requestId).catch(() => undefined);
  sink.start(res.status, {
    ...upstreamSignals(res.headers),
    'content-type': res.headers.get('content-type') ?? 'application/json',
  });
  sink.write(raw);
  sink.end();
}
