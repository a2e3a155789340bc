import { type ChangeInsert, insertWithAudit } from '../audit/insert-with-audit.js';
import { settleRequestSeal } from '../audit/seal.js';
import { lastUserText, promptExcerptFields } from '../audit/content-privacy.js';
import type { Ctx } from '../context.js';
import { newContentKey, sealWithContentKey } from '../crypto/content-keys.js';
import { currentDataKeyCached } from '../crypto/data-keys.js';
import { PalisadeError, notFound, unauthenticated } from '../errors.js';
import { DENIED_CODE, outboundFetch } from '../net/outbound.js';
import { newId } from '../ids.js';
import { authorizeGatewayCaller, gatewayExcerptChars, gatewayPolicy, gatewayUpstream } from './hot-path.js';
import { resolveGatewayKey } from './keys.js';
import { recordBadToken } from '../auth/bad-credentials.js';
import {
  AnthropicToOpenAiStream,
  anthropicErrorToOpenai,
  anthropicToOpenaiResponse,
  openaiToAnthropicRequest,
} from './translate.js';
import {
  OpenAiToAnthropicStream,
  anthropicToOpenaiRequest,
  openaiErrorToAnthropic,
  openaiToAnthropicResponse,
} from './translate-to-openai.js';
import { AnthropicSseTap, OpenAiSseTap, retainedAssistantText } from './sse-taps.js';
import { queueUsage } from './write-behind.js';
import {
  type UpstreamTarget,
  assertModelAllowed,
  upstreamDenied,
  upstreamHeaders,
  upstreamSignals,
  upstreamUrl,
} from './upstream.js';

/** Where a streamed response goes: the raw HTTP response, without Fastify types here. */
export interface Sink {
  start(status: number, headers: Record<string, string>): void;
  write(chunk: Uint8Array): void;
  end(): void;
  /** A whole response at once (status, headers, body and its length in one write), instead of start/write/end. */
  respond(status: number, headers: Record<string, string>, body: Uint8Array): void;
  /** Called when the client went away before the end. */
  onAbort(cb: () => void): void;
}

export interface GatewayCall {
  ctx: Ctx;
  orgId: string;
  keyId: string | null;
}

/** Why a presented key was refused, in words that lead to the fix: a provider's key, or a mistyped or revoked gateway key. */
export function invalidGatewayKeyMessage(presented: string): string {
  if (!presented.startsWith('pls_'))
    return "This is not a Palisade gateway key (they start with pls_gwk_): send your gateway key, not the model provider's key. Create one in your workspace settings.";
  return 'This gateway key is not valid: it may be mistyped (a key is pls_gwk_ followed by 43 characters), incomplete or revoked. Copy it again, or create a new one in your workspace settings.';
}

/**
 * Who is calling the gateway: a gateway key (x-api-key, or Authorization: Bearer pls_gwk_…) bound
 * to its organization, or a signed-in member naming the organization in x-palisade-org (optional
 * when they belong to exactly one). Either way, the member must still be active there.
 */
export async function identifyGatewayCaller(
  ctx: Ctx,
  headers: { apiKey?: string | undefined; bearer?: string | undefined; org?: string | undefined },
): Promise<GatewayCall> {
  const secret = headers.apiKey ?? headers.bearer;
  // A key that looks like a gateway key, or anything sent as x-api-key, is judged as a gateway key:
  // a typo gets a message about gateway keys, not the generic API-token one.
  if (secret && (secret.startsWith('pls_gwk_') || headers.apiKey !== undefined)) {
    const found = secret.startsWith('pls_gwk_')
      ? await resolveGatewayKey(ctx.db, ctx.clock.now(), secret, ctx.meta)
      : undefined;
    if (!found) await recordBadToken(ctx.db, ctx.clock, ctx.config, ctx.meta.ip);
    if (!found) throw unauthenticated('invalid_gateway_key', invalidGatewayKeyMessage(secret));
    if (headers.org && headers.org !== found.orgId) throw notFound('organization');
    const keyCtx: Ctx = {
      ...ctx,
      caller: {
        kind: 'user',
        userId: found.user.id,
        email: found.user.email,
        via: 'api_token',
        credentialId: found.keyId,
      },
    };
    await authorizeGatewayCaller(keyCtx, found.orgId);
    return { ctx: keyCtx, orgId: found.orgId, keyId: found.keyId };
  }
  if (ctx.caller.kind !== 'user')
    throw unauthenticated(
      'authentication_required',
      'Send a gateway key as x-api-key (or Authorization: Bearer pls_gwk_…), or sign in.',
    );
  let orgId = headers.org;
  if (!orgId) {
    const ms = await ctx.db
      .selectFrom('memberships')
      .select('org_id')
      .where('user_id', '=', ctx.caller.userId)
      .where('status', '=', 'active')
      .execute();
    if (ms.length !== 1)
      throw new PalisadeError(
        400,
        'organization_required',
        'You belong to several organizations: name one in the x-palisade-org header.',
      );
    orgId = (ms[0] as { org_id: string }).org_id;
  }
  await authorizeGatewayCaller(ctx, orgId);
  return { ctx, orgId, keyId: null };
}

interface Outcome {
  status: number;
  model: string;
  text: string;
  inputTokens: number;
  outputTokens: number;
  cancelled: boolean;
  responseBytes: number;
  /** A 200 stream that carried an upstream error event, or ended before it said it finished. */
  streamError: string | null;
}

export type Protocol = 'anthropic' | 'openai';

export interface ProxyRequest {
  protocol: Protocol;
  body: Record<string, unknown>;
  passthroughHeaders: Record<string, string | undefined>;
}

function validate(protocol: Protocol, body: Record<string, unknown>): { model: string; stream: boolean } {
  if (typeof body.model !== 'string' || body.model.length === 0)
    throw new PalisadeError(400, 'invalid_request', 'model: Field required (a model name string).');
  if (!Array.isArray(body.messages))
    throw new PalisadeError(400, 'invalid_request', 'messages: Field required (an array of messages).');
  if (protocol === 'anthropic' && typeof body.max_tokens !== 'number')
    throw new PalisadeError(400, 'invalid_request', 'max_tokens: Field required (a number).');
  return { model: body.model, stream: body.stream === true };
}

/**
 * Forwards one model request to the organization's upstream with its policies attached, streams
 * or returns the answer, then stores the exchange encrypted (per retention), counts tokens per
 * user and writes one audit event with sizes and counts, never content.
 */
export async function proxyModelRequest(call: GatewayCall, req: ProxyRequest, sink: Sink): Promise<void> {
  const { ctx, orgId } = call;
  const { model, stream } = validate(req.protocol, req.body);
  const policy = await gatewayPolicy(ctx, orgId);
  const target = await gatewayUpstream(ctx, orgId);
  await assertModelAllowed(
    ctx,
    orgId,
    target,
    model,
    req.protocol === 'anthropic' ? '/v1/messages' : '/v1/chat/completions',
  );
  // A client of either shape in front of a provider of the other is translated, both ways.
  const translate = req.protocol !== target.kind;
  const toOpenai = req.protocol === 'anthropic' && target.kind === 'openai';
  const path = target.kind === 'anthropic' ? '/v1/messages' : '/v1/chat/completions';
  const clientWantsUsage = (req.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  // Streams from an OpenAI-compatible provider report tokens only when asked: always ask, so usage is counted.
  const askUsage = !translate && req.protocol === 'openai' && stream && !clientWantsUsage;
  const noTrainingBody = policy.noTraining ? { store: false } : {};
  const body = toOpenai
    ? { ...anthropicToOpenaiRequest(req.body), ...noTrainingBody }
    : translate
      ? openaiToAnthropicRequest(req.body)
      : req.protocol === 'openai'
        ? {
            ...req.body,
            ...noTrainingBody,
            ...(askUsage
              ? { stream_options: { ...(req.body.stream_options as object | undefined), include_usage: true } }
              : {}),
          }
        : req.body;
  const created = Math.floor(ctx.clock.now().getTime() / 1000);
  const requestJson = JSON.stringify(body);

  const abort = new AbortController();
  let clientGone = false;
  sink.onAbort(() => {
    clientGone = true;
    abort.abort();
  });

  let res: Response;
  try {
    res = await outboundFetch(ctx.config)(upstreamUrl(target, path), {
      method: 'POST',
      headers: upstreamHeaders(target, policy.noTraining, req.passthroughHeaders),
      body: requestJson,
      signal: abort.signal,
    });
  } catch (err) {
    if (clientGone) return;
    if (err instanceof PalisadeError && err.code === DENIED_CODE) throw upstreamDenied(err);
    throw new PalisadeError(
      502,
      'upstream_unreachable',
      'The model provider could not be reached. Try again; if it persists, an admin should check the provider URL.',
      { cause: err },
    );
  }

  const outcome: Outcome = {
    status: res.status,
    model,
    text: '',
    inputTokens: 0,
    outputTokens: 0,
    cancelled: false,
    responseBytes: 0,
    streamError: null,
  };
  // Retry-after, rate-limit headers and the provider's request id reach the client, so SDK retries follow the provider.
  const signals = upstreamSignals(res.headers);
  const isSse = (res.headers.get('content-type') ?? '').includes('text/event-stream');
  /** A JSON (not streamed) answer, held until the exchange is recorded. */
  let whole: { status: number; headers: Record<string, string>; body: Uint8Array } | null = null;
  if (res.ok && stream && isSse && res.body) {
    const encoder = new TextEncoder();
    const emit = (out: string) => {
      if (out) sink.write(encoder.encode(out));
    };
    const toOpenaiChunks = translate && !toOpenai ? new AnthropicToOpenAiStream(created, clientWantsUsage) : null;
    const toAnthropicEvents = toOpenai ? new OpenAiToAnthropicStream(model) : null;
    const converter = toOpenaiChunks ?? toAnthropicEvents;
    const tap =
      target.kind === 'anthropic'
        ? new AnthropicSseTap(toOpenaiChunks ? (d) => emit(toOpenaiChunks.onEvent(d)) : undefined)
        : new OpenAiSseTap(
            !askUsage,
            toAnthropicEvents
              ? { onData: (d) => emit(toAnthropicEvents.onData(d)), onDone: () => emit(toAnthropicEvents.onDone()) }
              : undefined,
          );
    if (askUsage) tap.forward = (event) => sink.write(encoder.encode(event));
    sink.start(200, { ...signals, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        outcome.responseBytes += value.length;
        if (!converter && !tap.forward) sink.write(value);
        tap.push(value);
      }
      tap.flush();
    } catch {
      // Reading failed: the client left (we aborted), or the provider's connection broke mid-stream.
      if (!clientGone) outcome.streamError = 'upstream_connection_lost';
    }
    if (clientGone) outcome.cancelled = true;
    if (!outcome.cancelled && outcome.streamError === null && (tap.error !== null || !tap.completed))
      outcome.streamError = tap.error ?? 'incomplete_stream';
    Object.assign(outcome, {
      text: retainedAssistantText(tap.text, tap.toolCalls),
      inputTokens: tap.inputTokens,
      outputTokens: tap.outputTokens,
      model: tap.model || model,
    });
  } else {
    let raw: Uint8Array;
    try {
      raw = new Uint8Array(await res.arrayBuffer());
    } catch {
      outcome.cancelled = true;
      raw = new Uint8Array();
    }
    outcome.responseBytes = raw.length;
    let parsed: Record<string, unknown> | null = null;
    if (res.ok) {
      try {
        parsed = JSON.parse(Buffer.from(raw).toString('utf8')) as Record<string, unknown>;
      } catch {
        parsed = null;
      }
    }
    if (!outcome.cancelled) {
      // Upstream errors pass through in their own (compatible) shape and status; translated ones in the client's.
      whole = {
        status: res.status,
        headers: {
          ...signals,
          'content-type': translate ? 'application/json' : (res.headers.get('content-type') ?? 'application/json'),
        },
        body: !translate
          ? raw
          : Buffer.from(
              JSON.stringify(
                toOpenai
                  ? res.ok && parsed
                    ? openaiToAnthropicResponse(parsed)
                    : openaiErrorToAnthropic(res.status, raw)
                  : res.ok && parsed
                    ? anthropicToOpenaiResponse(parsed, created)
                    : anthropicErrorToOpenai(res.status, raw),
              ),
            ),
      };
    }
    if (res.ok) {
      try {
        const j = JSON.parse(Buffer.from(raw).toString('utf8')) as Record<string, unknown>;
        outcome.model = String(j.model ?? model);
        if (target.kind === 'anthropic') {
          const blocks =
            (j.content as { type: string; text?: string; name?: string; input?: unknown }[] | undefined) ?? [];
          outcome.text = retainedAssistantText(
            blocks
              .filter((c) => c.type === 'text')
              .map((c) => c.text ?? '')
              .join(''),
            blocks
              .filter((c) => c.type === 'tool_use')
              .map((c) => ({ name: String(c.name), args: JSON.stringify(c.input ?? {}) })),
          );
          const u = (j.usage as { input_tokens?: number; output_tokens?: number } | undefined) ?? {};
          outcome.inputTokens = u.input_tokens ?? 0;
          outcome.outputTokens = u.output_tokens ?? 0;
        } else {
          const message = (
            j.choices as
              | {
                  message?: {
                    content?: string | null;
                    tool_calls?: { function?: { name?: string; arguments?: string } }[];
                  };
                }[]
              | undefined
          )?.[0]?.message;
          outcome.text = retainedAssistantText(
            message?.content ?? '',
            (message?.tool_calls ?? []).map((c) => ({
              name: String(c.function?.name ?? ''),
              args: c.function?.arguments ?? '',
            })),
          );
          const u = (j.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined) ?? {};
          outcome.inputTokens = u.prompt_tokens ?? 0;
          outcome.outputTokens = u.completion_tokens ?? 0;
        }
      } catch {
        // An unreadable success body is passed through; nothing to count.
      }
    }
  }
  // Recorded before the response ends, so a client that saw the end can rely on the audit event and
  // usage. A JSON answer is sent only then, whole (one write, with its length): had recording failed,
  // the client gets the error instead of an answer nobody recorded.
  if (!whole) {
    try {
      await settle(call, req, target, policy, outcome, requestJson);
    } finally {
      sink.end();
    }
    return;
  }
  await settle(call, req, target, policy, outcome, requestJson);
  sink.respond(whole.status, whole.headers, whole.body);
}

async function settle(
  call: GatewayCall,
  req: ProxyRequest,
  target: UpstreamTarget,
  policy: { retentionDays: number; noTraining: boolean },
  o: Outcome,
  requestJson: string,
): Promise<void> {
  const { ctx, orgId } = call;
  const now = ctx.clock.now();
  const at = now.toISOString();
  const userId = ctx.caller.kind === 'user' ? ctx.caller.userId : '';
  const succeeded = o.status < 400 && !o.cancelled && o.streamError === null;
  const retained = policy.retentionDays > 0 && succeeded;
  const conversationId = retained ? newId('cnv', now) : null;
  // Metadata only, unless the organization opted in to prompt excerpts (src/audit/content-privacy.ts).
  const excerpt = promptExcerptFields(await gatewayExcerptChars(ctx, orgId), () => lastUserText(req.body.messages));
  // The audit event and the stored exchange commit before the response ends, together (one
  // statement on PostgreSQL, src/audit/insert-with-audit.ts); usage counters are batched after it
  // (src/gateway/write-behind.ts).
  const inserts: ChangeInsert[] = [];
  if (conversationId) {
    // The exchange's own key: its purge or deletion erases it, whatever else the organization keeps.
    const { key, row } = newContentKey(
      await currentDataKeyCached(ctx.db, ctx.config, orgId, now, ctx.meta),
      orgId,
      now,
    );
    inserts.push(ctx.db.insertInto('content_keys').values(row));
    inserts.push(
      ctx.db.insertInto('workspace_conversations').values({
        id: conversationId,
        org_id: orgId,
        user_id: userId,
        source: 'gateway',
        title_ct: null,
        key_version: null,
        content_key_id: key.id,
        retention_days: null,
        created_at: at,
        updated_at: at,
        last_message_at: at,
      }),
    );
    const turns = [
      { id: newId('msg', now), role: 'user' as const, text: requestJson, model: null, input: null, output: null },
      {
        id: newId('msg', now),
        role: 'assistant' as const,
        text: o.text,
        model: o.model,
        input: o.inputTokens,
        output: o.outputTokens,
      },
    ];
    inserts.push(
      ctx.db.insertInto('workspace_messages').values(
        turns.map((t) => ({
          id: t.id,
          org_id: orgId,
          conversation_id: conversationId,
          role: t.role,
          content_ct: sealWithContentKey(key, { orgId, table: 'workspace_messages', recordId: t.id }, t.text),
          key_version: key.dkVersion,
          content_key_id: key.id,
          size_bytes: Buffer.byteLength(t.text),
          model: t.model,
          input_tokens: t.input,
          output_tokens: t.output,
          created_at: at,
        })),
      ),
    );
  }
  await insertWithAudit(ctx, inserts, [
    {
      orgId,
      action: 'gateway.request_handled',
      outcome: succeeded ? 'success' : 'failure',
      targets: [
        ...(conversationId ? [{ type: 'conversation', id: conversationId }] : []),
        ...(call.keyId ? [{ type: 'gateway_key', id: call.keyId }] : []),
        { type: 'gateway_upstream', id: target.id },
      ],
      metadata: {
        endpoint: req.protocol === 'anthropic' ? '/v1/messages' : '/v1/chat/completions',
        model: o.model,
        stream: req.body.stream === true,
        upstreamStatus: o.status,
        streamError: o.streamError,
        requestBytes: Buffer.byteLength(requestJson),
        responseBytes: o.responseBytes,
        inputTokens: o.inputTokens,
        outputTokens: o.outputTokens,
        noTraining: policy.noTraining,
        noTrainingSentAs: policy.noTraining ? (target.kind === 'openai' ? ['header', 'store=false'] : ['header']) : [],
        translated: req.protocol !== target.kind,
        retentionDays: policy.retentionDays,
        retained,
        cancelled: o.cancelled,
        credential: call.keyId ? 'gateway_key' : ctx.caller.kind === 'user' ? ctx.caller.via : 'none',
        ...excerpt,
      },
    },
  ]);
  // The reply is written by the gateway itself (no onSend): its event is sealed into the chain here,
  // before the response ends, as for every other response (src/audit/seal.ts). A failed seal leaves
  // the event pending (durable) for the sweep; it does not fail the exchange.
  await settleRequestSeal(ctx.db, ctx.meta.requestId).catch(() => undefined);
  if (o.status < 400)
    queueUsage(ctx.db, {
      orgId,
      userId,
      model: o.model,
      inputTokens: o.inputTokens,
      outputTokens: o.outputTokens,
      at: now,
    });
}
