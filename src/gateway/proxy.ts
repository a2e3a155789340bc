import { recordAudit } from '../audit/record.js';
import { lastUserText, promptAuditFields } from '../audit/content-privacy.js';
import type { Ctx } from '../context.js';
import { sealFor } from '../crypto/data-keys.js';
import { PalisadeError, notFound, unauthenticated } from '../errors.js';
import { DENIED_CODE, outboundFetch } from '../net/outbound.js';
import { newId } from '../ids.js';
import { authorizeWorkspace } from '../workspace/network.js';
import { effectivePolicy } from '../workspace/policy.js';
import { gatewayError } from './errors.js';
import { resolveGatewayKey } from './keys.js';
import { assertTokenAttemptAllowed, recordBadToken } from '../auth/bad-credentials.js';
import { AnthropicToOpenAiStream, anthropicErrorToOpenai, anthropicToOpenaiResponse, openaiToAnthropicRequest } from './translate.js';
import { recordUsage } from './usage.js';
import { type UpstreamTarget, loadUpstream, upstreamDenied, upstreamHeaders, upstreamUrl } from './upstream.js';

/** Where a streamed response goes: the raw HTTP response, without Fastify types here. */
export interface Sink {
  start(status: number, headers: Record<string, string>): void;
  write(chunk: Uint8Array): void;
  end(): void;
  /** Called when the client went away before the end. */
  onAbort(cb: () => void): void;
}

export interface GatewayCall {
  ctx: Ctx;
  orgId: string;
  keyId: string | null;
}

/**
 * Who is calling the gateway: a gateway key (x-api-key, or Authorization: Bearer pls_gwk_…) bound
 * to its organization, or a signed-in member naming the organization in x-palisade-org (optional
 * when they belong to exactly one). Either way, the member must still be active there.
 */
export async function identifyGatewayCaller(ctx: Ctx, headers: { apiKey?: string | undefined; bearer?: string | undefined; org?: string | undefined }): Promise<GatewayCall> {
  const secret = headers.apiKey ?? headers.bearer;
  if (secret && secret.startsWith('pls_gwk_')) {
    await assertTokenAttemptAllowed(ctx.db, ctx.clock, ctx.config, ctx.meta.ip);
    const found = await resolveGatewayKey(ctx.db, ctx.clock.now(), secret);
    if (!found) await recordBadToken(ctx.db, ctx.clock, ctx.config, ctx.meta.ip);
    if (!found) throw unauthenticated('invalid_gateway_key', 'This gateway key is not valid: it may be mistyped or revoked. Create a new one in your workspace settings.');
    if (headers.org && headers.org !== found.orgId) throw notFound('organization');
    const keyCtx: Ctx = { ...ctx, caller: { kind: 'user', userId: found.user.id, email: found.user.email, via: 'api_token', credentialId: found.keyId } };
    await authorizeWorkspace(keyCtx, found.orgId);
    return { ctx: keyCtx, orgId: found.orgId, keyId: found.keyId };
  }
  if (ctx.caller.kind !== 'user') throw unauthenticated('authentication_required', 'Send a gateway key as x-api-key (or Authorization: Bearer pls_gwk_…), or sign in.');
  let orgId = headers.org;
  if (!orgId) {
    const ms = await ctx.db.selectFrom('memberships').select('org_id').where('user_id', '=', ctx.caller.userId).where('status', '=', 'active').execute();
    if (ms.length !== 1) throw new PalisadeError(400, 'organization_required', 'You belong to several organizations: name one in the x-palisade-org header.');
    orgId = (ms[0] as { org_id: string }).org_id;
  }
  await authorizeWorkspace(ctx, orgId);
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
}

/** Splits a server-sent-event stream into JSON `data:` payloads as it passes through, untouched. */
abstract class SseTap {
  private buf = '';
  private readonly decoder = new TextDecoder();
  text = '';
  inputTokens = 0;
  outputTokens = 0;
  model = '';
  push(chunk: Uint8Array): void {
    this.buf += this.decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const event = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:') || line.includes('[DONE]')) continue;
        let data: Record<string, unknown>;
        try {
          data = JSON.parse(line.slice(5).trim()) as Record<string, unknown>;
        } catch {
          continue; // Not JSON: passed through untouched, nothing to count.
        }
        this.onData(data);
      }
    }
  }
  protected abstract onData(d: Record<string, unknown>): void;
}

/** Accumulates text and usage from Anthropic Messages SSE events. */
class AnthropicSseTap extends SseTap {
  constructor(private readonly onEvent?: (d: Record<string, unknown>) => void) {
    super();
  }
  protected onData(d: Record<string, unknown>): void {
    this.onEvent?.(d);
    if (d.type === 'message_start') {
      const m = d.message as { model?: string; usage?: { input_tokens?: number; output_tokens?: number } };
      this.model = m.model ?? this.model;
      this.inputTokens = m.usage?.input_tokens ?? 0;
      this.outputTokens = m.usage?.output_tokens ?? 0;
    } else if (d.type === 'content_block_delta') {
      const delta = d.delta as { type?: string; text?: string };
      if (delta.type === 'text_delta') this.text += delta.text ?? '';
    } else if (d.type === 'message_delta') {
      const u = d.usage as { output_tokens?: number; input_tokens?: number } | undefined;
      if (u?.output_tokens !== undefined) this.outputTokens = u.output_tokens;
      if (u?.input_tokens) this.inputTokens = u.input_tokens;
    }
  }
}

/** Same for OpenAI chat-completion chunks. */
class OpenAiSseTap extends SseTap {
  protected onData(raw: Record<string, unknown>): void {
    const d = raw as { model?: string; choices?: { delta?: { content?: string } }[]; usage?: { prompt_tokens?: number; completion_tokens?: number } };
    this.model = d.model ?? this.model;
    this.text += d.choices?.[0]?.delta?.content ?? '';
    if (d.usage) {
      this.inputTokens = d.usage.prompt_tokens ?? this.inputTokens;
      this.outputTokens = d.usage.completion_tokens ?? this.outputTokens;
    }
  }
}

export type Protocol = 'anthropic' | 'openai';

export interface ProxyRequest {
  protocol: Protocol;
  body: Record<string, unknown>;
  passthroughHeaders: Record<string, string | undefined>;
}

function validate(protocol: Protocol, body: Record<string, unknown>): { model: string; stream: boolean } {
  if (typeof body.model !== 'string' || body.model.length === 0) throw new PalisadeError(400, 'invalid_request', 'model: Field required (a model name string).');
  if (!Array.isArray(body.messages)) throw new PalisadeError(400, 'invalid_request', 'messages: Field required (an array of messages).');
  if (protocol === 'anthropic' && typeof body.max_tokens !== 'number') throw new PalisadeError(400, 'invalid_request', 'max_tokens: Field required (a number).');
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
  const policy = await effectivePolicy(ctx.db, ctx.config, orgId);
  const target = await loadUpstream(ctx.db, ctx.config, orgId);
  // An OpenAI-shaped client in front of an Anthropic provider is translated; the reverse is refused.
  const translate = req.protocol === 'openai' && target.kind === 'anthropic';
  const path = target.kind === 'anthropic' ? '/v1/messages' : '/v1/chat/completions';
  if (target.kind !== req.protocol && !translate) {
    throw gatewayError(400, 'upstream_protocol_mismatch', `This organization's model provider speaks the ${target.kind === 'anthropic' ? 'Anthropic Messages API: use POST /v1/messages' : 'OpenAI API: use POST /v1/chat/completions'}.`);
  }
  const body = translate ? openaiToAnthropicRequest(req.body) : req.protocol === 'openai' && policy.noTraining ? { ...req.body, store: false } : req.body;
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
    res = await outboundFetch(ctx.config)(upstreamUrl(target, path), { method: 'POST', headers: upstreamHeaders(target, policy.noTraining, req.passthroughHeaders), body: requestJson, signal: abort.signal });
  } catch (err) {
    if (clientGone) return;
    if (err instanceof PalisadeError && err.code === DENIED_CODE) throw upstreamDenied(err);
    throw new PalisadeError(502, 'upstream_unreachable', 'The model provider could not be reached. Try again; if it persists, an admin should check the provider URL.', { cause: err });
  }

  const outcome: Outcome = { status: res.status, model, text: '', inputTokens: 0, outputTokens: 0, cancelled: false, responseBytes: 0 };
  const isSse = (res.headers.get('content-type') ?? '').includes('text/event-stream');
  if (res.ok && stream && isSse && res.body) {
    const converter = translate ? new AnthropicToOpenAiStream(created) : null;
    const encoder = new TextEncoder();
    const translateEvent = (d: Record<string, unknown>) => {
      const out = converter?.onEvent(d);
      if (out) sink.write(encoder.encode(out));
    };
    const tap = target.kind === 'anthropic' ? new AnthropicSseTap(converter ? translateEvent : undefined) : new OpenAiSseTap();
    sink.start(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        outcome.responseBytes += value.length;
        if (!converter) sink.write(value);
        tap.push(value);
      }
    } catch {
      outcome.cancelled = true;
    }
    if (clientGone) outcome.cancelled = true;
    Object.assign(outcome, { text: tap.text, inputTokens: tap.inputTokens, outputTokens: tap.outputTokens, model: tap.model || model });
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
      // Upstream errors pass through in their own (compatible) shape and status; translated ones in OpenAI's.
      sink.start(res.status, { 'content-type': translate ? 'application/json' : (res.headers.get('content-type') ?? 'application/json') });
      if (!translate) sink.write(raw);
      else sink.write(Buffer.from(JSON.stringify(res.ok && parsed ? anthropicToOpenaiResponse(parsed, created) : anthropicErrorToOpenai(res.status, raw))));
    }
    if (res.ok) {
      try {
        const j = JSON.parse(Buffer.from(raw).toString('utf8')) as Record<string, unknown>;
        outcome.model = String(j.model ?? model);
        if (target.kind === 'anthropic') {
          outcome.text = ((j.content as { type: string; text?: string }[] | undefined) ?? []).filter((c) => c.type === 'text').map((c) => c.text ?? '').join('');
          const u = (j.usage as { input_tokens?: number; output_tokens?: number } | undefined) ?? {};
          outcome.inputTokens = u.input_tokens ?? 0;
          outcome.outputTokens = u.output_tokens ?? 0;
        } else {
          outcome.text = (j.choices as { message?: { content?: string } }[] | undefined)?.[0]?.message?.content ?? '';
          const u = (j.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined) ?? {};
          outcome.inputTokens = u.prompt_tokens ?? 0;
          outcome.outputTokens = u.completion_tokens ?? 0;
        }
      } catch {
        // An unreadable success body is passed through; nothing to count.
      }
    }
  }
  // Recorded before the response ends, so a client that saw the end can rely on the audit event and usage.
  try {
    await settle(call, req, target, policy, outcome, requestJson);
  } finally {
    sink.end();
  }
}

async function settle(call: GatewayCall, req: ProxyRequest, target: UpstreamTarget, policy: { retentionDays: number; noTraining: boolean }, o: Outcome, requestJson: string): Promise<void> {
  const { ctx, orgId } = call;
  const now = ctx.clock.now();
  const at = now.toISOString();
  const userId = ctx.caller.kind === 'user' ? ctx.caller.userId : '';
  const retained = policy.retentionDays > 0 && o.status < 400 && !o.cancelled;
  const conversationId = retained ? newId('cnv', now) : null;
  await ctx.db.transaction().execute(async (tx) => {
    if (conversationId) {
      await tx
        .insertInto('workspace_conversations')
        .values({ id: conversationId, org_id: orgId, user_id: userId, source: 'gateway', title_ct: null, key_version: null, retention_days: null, created_at: at, updated_at: at, last_message_at: at })
        .execute();
      const turns = [
        { id: newId('msg', now), role: 'user' as const, text: requestJson, model: null, input: null, output: null },
        { id: newId('msg', now), role: 'assistant' as const, text: o.text, model: o.model, input: o.inputTokens, output: o.outputTokens },
      ];
      for (const t of turns) {
        const s = await sealFor(tx, ctx.config, now, { orgId, table: 'workspace_messages', recordId: t.id }, t.text);
        await tx
          .insertInto('workspace_messages')
          .values({ id: t.id, org_id: orgId, conversation_id: conversationId, role: t.role, content_ct: s.ct, key_version: s.keyVersion, size_bytes: Buffer.byteLength(t.text), model: t.model, input_tokens: t.input, output_tokens: t.output, created_at: at })
          .execute();
      }
    }
    if (o.status < 400) await recordUsage(tx, { orgId, userId, model: o.model, inputTokens: o.inputTokens, outputTokens: o.outputTokens, at: now });
    await recordAudit(tx, ctx, {
      orgId,
      action: 'gateway.request',
      outcome: o.status < 400 && !o.cancelled ? 'success' : 'failure',
      targets: [...(conversationId ? [{ type: 'conversation', id: conversationId }] : []), ...(call.keyId ? [{ type: 'gateway_key', id: call.keyId }] : []), { type: 'gateway_upstream', id: target.id }],
      metadata: {
        endpoint: req.protocol === 'anthropic' ? '/v1/messages' : '/v1/chat/completions',
        model: o.model,
        stream: req.body.stream === true,
        upstreamStatus: o.status,
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
        // Metadata only, unless the organization opted in to prompt excerpts (src/audit/content-privacy.ts).
        ...(await promptAuditFields(tx, orgId, () => lastUserText(req.body.messages))),
      },
    });
  });
}
