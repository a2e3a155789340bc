/**
 * Server-sent-event taps: they read a model stream as it passes through (never delaying it) to
 * count tokens, keep the text and tool calls for retention, and tell a finished stream from one
 * that ended in an error.
 */
export interface ToolCall {
  name: string;
  args: string;
}

/** The assistant turn as retained: its text, then one line per tool call, so a review sees what the model asked to run. */
export function retainedAssistantText(text: string, calls: ToolCall[]): string {
  return [text, ...calls.map((c) => `[tool call ${c.name}] ${c.args}`)].filter((l) => l !== '').join('\n');
}

/** Splits a server-sent-event stream into JSON `data:` payloads as it passes through, untouched. */
export abstract class SseTap {
  private buf = '';
  private readonly decoder = new TextDecoder();
  text = '';
  inputTokens = 0;
  outputTokens = 0;
  model = '';
  /** The stream said it finished (message_stop, or [DONE] after a finish_reason). */
  completed = false;
  /** The upstream's error type, when the stream carried an error event. */
  error: string | null = null;
  /** Tool calls the model made (name and JSON arguments), kept with the response text. */
  toolCalls: ToolCall[] = [];
  /** When set, each whole event is handed over (to be forwarded or held back) instead of the raw bytes. */
  forward: ((eventText: string) => void) | null = null;
  push(chunk: Uint8Array): void {
    this.buf += this.decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const event = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      if (this.forward && !this.holdBack(event)) this.forward(`${event}\n\n`);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        if (line.slice(5).trim() === '[DONE]') {
          this.onDone();
          continue;
        }
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
  /** At the end of the stream: a last event without its blank line still reaches a forwarding client. */
  flush(): void {
    if (this.forward && this.buf !== '') this.forward(this.buf);
    this.buf = '';
  }
  protected abstract onData(d: Record<string, unknown>): void;
  protected onDone(): void {}
  /** An event the client did not ask for (see OpenAiSseTap). */
  protected holdBack(_event: string): boolean {
    return false;
  }
}

/** Accumulates text and usage from Anthropic Messages SSE events. */
export class AnthropicSseTap extends SseTap {
  private readonly toolByIndex = new Map<number, number>();
  constructor(private readonly onEvent?: (d: Record<string, unknown>) => void) {
    super();
  }
  protected onData(d: Record<string, unknown>): void {
    this.onEvent?.(d);
    if (d.type === 'message_stop') this.completed = true;
    else if (d.type === 'error') this.error = String((d.error as { type?: string } | undefined)?.type ?? 'error');
    else if (d.type === 'message_start') {
      const m = d.message as { model?: string; usage?: { input_tokens?: number; output_tokens?: number } };
      this.model = m.model ?? this.model;
      this.inputTokens = m.usage?.input_tokens ?? 0;
      this.outputTokens = m.usage?.output_tokens ?? 0;
    } else if (d.type === 'content_block_start') {
      const b = d.content_block as { type?: string; name?: string };
      if (b.type === 'tool_use')
        this.toolByIndex.set(Number(d.index), this.toolCalls.push({ name: String(b.name), args: '' }) - 1);
    } else if (d.type === 'content_block_delta') {
      const delta = d.delta as { type?: string; text?: string; partial_json?: string };
      if (delta.type === 'text_delta') this.text += delta.text ?? '';
      const tool = this.toolCalls[this.toolByIndex.get(Number(d.index)) ?? -1];
      if (delta.type === 'input_json_delta' && tool) tool.args += delta.partial_json ?? '';
    } else if (d.type === 'message_delta') {
      const u = d.usage as { output_tokens?: number; input_tokens?: number } | undefined;
      if (u?.output_tokens !== undefined) this.outputTokens = u.output_tokens;
      if (u?.input_tokens) this.inputTokens = u.input_tokens;
    }
  }
}

/** Same for OpenAI chat-completion chunks. */
export class OpenAiSseTap extends SseTap {
  private finished = false;
  /**
   * Palisade always asks an OpenAI-compatible provider for the usage chunk (to count tokens); when
   * the client did not ask for it, that chunk is held back so the client sees what it asked for.
   */
  constructor(
    private readonly clientWantsUsage = true,
    private readonly listener?: { onData(d: Record<string, unknown>): void; onDone(): void },
  ) {
    super();
  }
  protected override holdBack(event: string): boolean {
    if (this.clientWantsUsage) return false;
    const line = event.split('\n').find((l) => l.startsWith('data:'));
    if (!line) return false;
    try {
      const d = JSON.parse(line.slice(5).trim()) as { choices?: unknown[]; usage?: unknown };
      return Array.isArray(d.choices) && d.choices.length === 0 && d.usage !== undefined && d.usage !== null;
    } catch {
      return false;
    }
  }
  protected override onDone(): void {
    this.completed = this.finished && this.error === null;
    this.listener?.onDone();
  }
  protected onData(raw: Record<string, unknown>): void {
    const d = raw as {
      model?: string;
      error?: { type?: string; code?: string };
      choices?: {
        delta?: {
          content?: string;
          tool_calls?: { index: number; function?: { name?: string; arguments?: string } }[];
        };
        finish_reason?: string | null;
      }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    this.listener?.onData(raw);
    for (const tc of d.choices?.[0]?.delta?.tool_calls ?? []) {
      const call = (this.toolCalls[tc.index] ??= { name: '', args: '' });
      call.name += tc.function?.name ?? '';
      call.args += tc.function?.arguments ?? '';
    }
    if (d.error) this.error = String(d.error.code ?? d.error.type ?? 'error');
    if (d.choices?.[0]?.finish_reason) this.finished = true;
    this.model = d.model ?? this.model;
    this.text += d.choices?.[0]?.delta?.content ?? '';
    if (d.usage) {
      this.inputTokens = d.usage.prompt_tokens ?? this.inputTokens;
      this.outputTokens = d.usage.completion_tokens ?? this.outputTokens;
    }
  }
}
