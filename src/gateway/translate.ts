/**
 * OpenAI chat-completions clients in front of an Anthropic Messages upstream: the request, the
 * JSON answer, the SSE stream and errors are translated; everything else passes through as is.
 */
type OpenAiMessage = { role: string; content: unknown };

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : Array.isArray(content)
      ? content.map((p) => (typeof p === 'object' && p !== null && (p as { type?: string }).type === 'text' ? String((p as { text?: unknown }).text ?? '') : '')).join('')
      : '';

export function openaiToAnthropicRequest(body: Record<string, unknown>): Record<string, unknown> {
  const messages = (body.messages as OpenAiMessage[]) ?? [];
  const system = messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => textOf(m.content)).join('\n\n');
  const turns = messages.filter((m) => m.role === 'user' || m.role === 'assistant').map((m) => ({ role: m.role, content: textOf(m.content) }));
  const stop = body.stop === undefined ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop];
  return {
    model: body.model,
    max_tokens: typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : typeof body.max_tokens === 'number' ? body.max_tokens : 1024,
    messages: turns,
    ...(system ? { system } : {}),
    ...(typeof body.temperature === 'number' ? { temperature: Math.min(1, body.temperature) } : {}),
    ...(typeof body.top_p === 'number' ? { top_p: body.top_p } : {}),
    ...(stop ? { stop_sequences: stop } : {}),
    ...(body.stream === true ? { stream: true } : {}),
  };
}

const FINISH: Record<string, string> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls' };

export function anthropicToOpenaiResponse(j: Record<string, unknown>, created: number): Record<string, unknown> {
  const text = ((j.content as { type: string; text?: string }[] | undefined) ?? []).filter((c) => c.type === 'text').map((c) => c.text ?? '').join('');
  const u = (j.usage as { input_tokens?: number; output_tokens?: number } | undefined) ?? {};
  return {
    id: `chatcmpl-${String(j.id ?? '')}`,
    object: 'chat.completion',
    created,
    model: j.model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: FINISH[String(j.stop_reason)] ?? 'stop' }],
    usage: { prompt_tokens: u.input_tokens ?? 0, completion_tokens: u.output_tokens ?? 0, total_tokens: (u.input_tokens ?? 0) + (u.output_tokens ?? 0) },
  };
}

export function anthropicErrorToOpenai(status: number, raw: Uint8Array): Record<string, unknown> {
  let message = `The model provider answered ${status}.`;
  let type = 'upstream_error';
  try {
    const j = JSON.parse(Buffer.from(raw).toString('utf8')) as { error?: { type?: string; message?: string } };
    message = j.error?.message ?? message;
    type = j.error?.type ?? type;
  } catch {
    // keep the generic message
  }
  return { error: { message, type, param: null, code: type } };
}

/** Turns Anthropic stream events into OpenAI chat.completion.chunk SSE lines. */
export class AnthropicToOpenAiStream {
  private id = 'chatcmpl-palisade';
  private model = '';
  constructor(private readonly created: number) {}
  onEvent(d: Record<string, unknown>): string {
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    if (d.type === 'message_start') {
      const m = d.message as { id?: string; model?: string };
      this.id = `chatcmpl-${m.id ?? ''}`;
      this.model = m.model ?? '';
      return chunk({ role: 'assistant', content: '' }, null);
    }
    if (d.type === 'content_block_delta') {
      const delta = d.delta as { type?: string; text?: string };
      return delta.type === 'text_delta' ? chunk({ content: delta.text ?? '' }, null) : '';
    }
    if (d.type === 'message_delta') {
      const stop = (d.delta as { stop_reason?: string } | undefined)?.stop_reason;
      return chunk({}, FINISH[String(stop)] ?? 'stop');
    }
    if (d.type === 'message_stop') return 'data: [DONE]\n\n';
    return '';
  }
}
