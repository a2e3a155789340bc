import type { PalisadeConfig } from '../config.js';
import { PalisadeError } from '../errors.js';
import { DENIED_CODE, outboundFetch } from '../net/outbound.js';
import { type UpstreamTarget, upstreamDenied, upstreamHeaders, upstreamUrl } from './upstream.js';

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface Completion {
  text: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
}

/** One non-streaming completion for the workspace chat, against either upstream protocol. */
export async function completeText(
  config: PalisadeConfig,
  target: UpstreamTarget,
  req: { model: string; messages: ChatTurn[]; maxTokens: number },
  noTraining: boolean,
  signal?: AbortSignal,
): Promise<Completion> {
  const anthropic = target.kind === 'anthropic';
  const body = anthropic
    ? { model: req.model, max_tokens: req.maxTokens, messages: req.messages }
    : { model: req.model, max_tokens: req.maxTokens, messages: req.messages, ...(noTraining ? { store: false } : {}) };
  let res: Response;
  try {
    res = await outboundFetch(config)(upstreamUrl(target, anthropic ? '/v1/messages' : '/v1/chat/completions'), {
      method: 'POST',
      headers: upstreamHeaders(target, noTraining),
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (err instanceof PalisadeError && err.code === DENIED_CODE) throw upstreamDenied(err);
    throw new PalisadeError(
      502,
      'upstream_unreachable',
      'The model provider could not be reached. Try again; if it persists, an admin should check the provider URL.',
      { cause: err },
    );
  }
  const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (res.status === 429) {
    // The provider's own limit: say when to try again instead of a generic 502.
    const retryAfter = Number(res.headers.get('retry-after'));
    const seconds = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter) : null;
    throw new PalisadeError(
      429,
      'upstream_rate_limited',
      `The model provider is limiting this organization's requests; try again${seconds ? ` in ${seconds} second(s)` : ' shortly'}.`,
      {
        details: { upstreamStatus: 429, retryAfterSeconds: seconds },
      },
    );
  }
  if (!res.ok || !json) {
    const upstreamMessage = (json?.error as { message?: string } | undefined)?.message;
    throw new PalisadeError(
      502,
      'upstream_error',
      `The model provider answered ${res.status}${upstreamMessage ? `: ${upstreamMessage.slice(0, 300)}` : ''}.`,
      { details: { upstreamStatus: res.status } },
    );
  }
  if (anthropic) {
    const content = (json.content as { type: string; text?: string }[] | undefined) ?? [];
    const usage = (json.usage as { input_tokens?: number; output_tokens?: number } | undefined) ?? {};
    return {
      text: content
        .filter((c) => c.type === 'text')
        .map((c) => c.text ?? '')
        .join(''),
      model: String(json.model ?? req.model),
      inputTokens: usage.input_tokens ?? 0,
      outputTokens: usage.output_tokens ?? 0,
    };
  }
  const choice = (json.choices as { message?: { content?: string } }[] | undefined)?.[0];
  const usage = (json.usage as { prompt_tokens?: number; completion_tokens?: number } | undefined) ?? {};
  return {
    text: choice?.message?.content ?? '',
    model: String(json.model ?? req.model),
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
  };
}
