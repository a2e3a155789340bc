import { PalisadeError } from '../errors.js';

/**
 * Anthropic Messages clients in front of an OpenAI-compatible provider (vLLM, Ollama…): the request
 * (system, content blocks and images, tools, tool_choice, tool_use and tool_result blocks), the JSON
 * answer, the SSE stream (as Anthropic's events, tool-input fragments included) and error bodies are
 * translated. A field with no OpenAI equivalent is refused with a 400 naming it; the model's own
 * thinking blocks, which an OpenAI-compatible server cannot take back, are left out.
 */
type Json = Record<string, unknown>;

const unsupported = (field: string, why: string) =>
  new PalisadeError(400, 'unsupported_parameter', `${field}: ${why}`, { details: { field } });
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function imagePart(source: unknown, field: string): Json {
  if (
    isObj(source) &&
    source.type === 'base64' &&
    typeof source.media_type === 'string' &&
    typeof source.data === 'string'
  )
    return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  if (isObj(source) && source.type === 'url' && typeof source.url === 'string')
    return { type: 'image_url', image_url: { url: source.url } };
  throw unsupported(field, 'images must be base64 or url sources.');
}

const textOfBlocks = (content: unknown, field: string): string => {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b, i) => {
      if (isObj(b) && b.type === 'text') return String(b.text ?? '');
      throw unsupported(`${field}[${i}]`, 'only text is accepted here by an OpenAI-compatible provider.');
    })
    .join('\n');
};

export function anthropicToOpenaiRequest(body: Json): Json {
  const out: Json[] = [];
  if (body.system !== undefined) out.push({ role: 'system', content: textOfBlocks(body.system, 'system') });
  const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  messages.forEach((m, i) => {
    const f = `messages[${i}]`;
    if (!isObj(m) || (m.role !== 'user' && m.role !== 'assistant'))
      throw unsupported(`${f}.role`, 'messages alternate between "user" and "assistant".');
    const blocks: Json[] =
      typeof m.content === 'string'
        ? [{ type: 'text', text: m.content }]
        : Array.isArray(m.content)
          ? (m.content as Json[])
          : [];
    if (m.role === 'assistant') {
      const text = blocks
        .filter((b) => b.type === 'text')
        .map((b) => String(b.text ?? ''))
        .join('');
      const calls = blocks
        .filter((b) => b.type === 'tool_use')
        .map((b) => ({
          id: String(b.id),
          type: 'function',
          function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) },
        }));
      blocks.forEach((b, j) => {
        if (!['text', 'tool_use', 'thinking', 'redacted_thinking'].includes(String(b.type)))
          throw unsupported(
            `${f}.content[${j}]`,
            `assistant blocks of type "${String(b.type)}" cannot be sent to an OpenAI-compatible provider.`,
          );
      });
      out.push({
        role: 'assistant',
        content: text === '' && calls.length ? null : text,
        ...(calls.length ? { tool_calls: calls } : {}),
      });
      return;
    }
    // Tool results first, each its own "tool" message, then what else the user said.
    const parts: Json[] = [];
    blocks.forEach((b, j) => {
      const bf = `${f}.content[${j}]`;
      if (b.type === 'tool_result') {
        const content = typeof b.content === 'string' ? b.content : textOfBlocks(b.content ?? '', `${bf}.content`);
        out.push({
          role: 'tool',
          tool_call_id: String(b.tool_use_id),
          content: b.is_error === true ? `Error: ${content}` : content,
        });
      } else if (b.type === 'text') parts.push({ type: 'text', text: String(b.text ?? '') });
      else if (b.type === 'image') parts.push(imagePart(b.source, `${bf}.source`));
      else if (
        b.type === 'document' &&
        isObj(b.source) &&
        b.source.type === 'base64' &&
        b.source.media_type === 'application/pdf'
      )
        parts.push({
          type: 'file',
          file: { filename: 'document.pdf', file_data: `data:application/pdf;base64,${String(b.source.data)}` },
        });
      else
        throw unsupported(
          bf,
          `content blocks of type "${String(b.type)}" cannot be sent to this organization's OpenAI-compatible provider; send text, images, base64 PDFs or tool results.`,
        );
    });
    if (parts.length)
      out.push({ role: 'user', content: parts.length === 1 && parts[0]?.type === 'text' ? parts[0].text : parts });
  });
  const tools = Array.isArray(body.tools)
    ? (body.tools as unknown[]).map((t, i) => {
        if (!isObj(t) || typeof t.name !== 'string' || (t.type !== undefined && t.type !== 'custom'))
          throw unsupported(
            `tools[${i}]`,
            'only client tools with a name and an input_schema can be sent to an OpenAI-compatible provider.',
          );
        return {
          type: 'function',
          function: {
            name: t.name,
            ...(typeof t.description === 'string' ? { description: t.description } : {}),
            parameters: isObj(t.input_schema) ? t.input_schema : { type: 'object', properties: {} },
          },
        };
      })
    : undefined;
  let toolChoice: unknown;
  let parallel: boolean | undefined;
  if (isObj(body.tool_choice)) {
    const c = body.tool_choice;
    toolChoice =
      c.type === 'auto'
        ? 'auto'
        : c.type === 'any'
          ? 'required'
          : c.type === 'none'
            ? 'none'
            : c.type === 'tool'
              ? { type: 'function', function: { name: String(c.name) } }
              : undefined;
    if (toolChoice === undefined)
      throw unsupported(
        'tool_choice',
        'use {"type":"auto"}, {"type":"any"}, {"type":"none"} or {"type":"tool","name":"…"}.',
      );
    if (c.disable_parallel_tool_use === true) parallel = false;
  }
  if (body.top_k !== undefined)
    throw unsupported('top_k', 'OpenAI-compatible providers take no top_k; leave it out, or use top_p.');
  if (body.thinking !== undefined && isObj(body.thinking) && body.thinking.type === 'enabled')
    throw unsupported(
      'thinking',
      "extended thinking is not available from this organization's OpenAI-compatible provider.",
    );
  const user = isObj(body.metadata) && typeof body.metadata.user_id === 'string' ? body.metadata.user_id : undefined;
  return {
    model: body.model,
    messages: out,
    max_tokens: body.max_tokens,
    ...(typeof body.temperature === 'number' ? { temperature: body.temperature } : {}),
    ...(typeof body.top_p === 'number' ? { top_p: body.top_p } : {}),
    ...(Array.isArray(body.stop_sequences) && body.stop_sequences.length ? { stop: body.stop_sequences } : {}),
    ...(tools?.length ? { tools } : {}),
    ...(tools?.length && toolChoice !== undefined ? { tool_choice: toolChoice } : {}),
    ...(tools?.length && parallel === false ? { parallel_tool_calls: false } : {}),
    ...(user ? { user } : {}),
    ...(body.stream === true ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
}

const STOP: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

function toolInput(args: unknown): Json {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const v = JSON.parse(args) as unknown;
    return isObj(v) ? v : { value: v };
  } catch {
    // A model that wrote invalid JSON: keep what it wrote rather than drop the call.
    return { _raw_arguments: args };
  }
}

export function openaiToAnthropicResponse(j: Json): Json {
  const choice = (Array.isArray(j.choices) ? (j.choices[0] as Json | undefined) : undefined) ?? {};
  const message = isObj(choice.message) ? choice.message : {};
  const content: Json[] = [];
  if (typeof message.content === 'string' && message.content !== '')
    content.push({ type: 'text', text: message.content });
  for (const c of Array.isArray(message.tool_calls) ? (message.tool_calls as Json[]) : []) {
    const fn = isObj(c.function) ? c.function : {};
    content.push({
      type: 'tool_use',
      id: String(c.id ?? ''),
      name: String(fn.name ?? ''),
      input: toolInput(fn.arguments),
    });
  }
  const usage = isObj(j.usage) ? j.usage : {};
  return {
    id: `msg_${String(j.id ?? '')}`,
    type: 'message',
    role: 'assistant',
    model: j.model,
    content,
    stop_reason: STOP[String(choice.finish_reason)] ?? 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: Number(usage.prompt_tokens ?? 0), output_tokens: Number(usage.completion_tokens ?? 0) },
  };
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

export function openaiErrorToAnthropic(status: number, raw: Uint8Array): Json {
  let message = `The model provider answered ${status}.`;
  try {
    const j = JSON.parse(Buffer.from(raw).toString('utf8')) as { error?: { message?: string } | string };
    message = (typeof j.error === 'string' ? j.error : j.error?.message) ?? message;
  } catch {
    // keep the generic message
  }
  return {
    type: 'error',
    error: { type: ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), message },
  };
}

/** Turns OpenAI chat.completion.chunk events into Anthropic Messages stream events. */
export class OpenAiToAnthropicStream {
  private started = false;
  private finished = false;
  /** The open content block: its Anthropic index and what it is (text, or the OpenAI tool call index). */
  private open: { index: number; kind: 'text' | number } | null = null;
  private nextIndex = 0;
  private stop = 'end_turn';
  private usage = { input_tokens: 0, output_tokens: 0 };
  constructor(private readonly fallbackModel: string) {}

  private event(type: string, data: Json): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  }
  private start(d: Json): string {
    if (this.started) return '';
    this.started = true;
    const message = {
      id: `msg_${String(d.id ?? '')}`,
      type: 'message',
      role: 'assistant',
      model: d.model ?? this.fallbackModel,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return this.event('message_start', { message });
  }
  private close(): string {
    if (!this.open) return '';
    const out = this.event('content_block_stop', { index: this.open.index });
    this.open = null;
    return out;
  }

  onData(d: Json): string {
    if (isObj(d.error)) {
      this.finished = true;
      return this.event('error', {
        error: { type: 'api_error', message: String(d.error.message ?? 'The model provider failed mid-stream.') },
      });
    }
    let out = this.start(d);
    if (isObj(d.usage))
      this.usage = {
        input_tokens: Number(d.usage.prompt_tokens ?? 0),
        output_tokens: Number(d.usage.completion_tokens ?? 0),
      };
    const choice = Array.isArray(d.choices) ? (d.choices[0] as Json | undefined) : undefined;
    if (!choice) return out;
    const delta = isObj(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string' && delta.content !== '') {
      if (this.open?.kind !== 'text') {
        out += this.close();
        this.open = { index: this.nextIndex++, kind: 'text' };
        out += this.event('content_block_start', { index: this.open.index, content_block: { type: 'text', text: '' } });
      }
      out += this.event('content_block_delta', {
        index: this.open.index,
        delta: { type: 'text_delta', text: delta.content },
      });
    }
    for (const tc of Array.isArray(delta.tool_calls) ? (delta.tool_calls as Json[]) : []) {
      const fn = isObj(tc.function) ? tc.function : {};
      const k = Number(tc.index ?? 0);
      if (this.open?.kind !== k) {
        out += this.close();
        this.open = { index: this.nextIndex++, kind: k };
        out += this.event('content_block_start', {
          index: this.open.index,
          content_block: {
            type: 'tool_use',
            id: String(tc.id ?? `toolu_${k}`),
            name: String(fn.name ?? ''),
            input: {},
          },
        });
      }
      if (typeof fn.arguments === 'string' && fn.arguments !== '')
        out += this.event('content_block_delta', {
          index: this.open.index,
          delta: { type: 'input_json_delta', partial_json: fn.arguments },
        });
    }
    if (typeof choice.finish_reason === 'string') this.stop = STOP[choice.finish_reason] ?? 'end_turn';
    return out;
  }

  /** At [DONE]: closes the open block and ends the message with its stop reason and usage. */
  onDone(): string {
    if (this.finished) return '';
    this.finished = true;
    return (
      this.start({}) +
      this.close() +
      this.event('message_delta', {
        delta: { stop_reason: this.stop, stop_sequence: null },
        usage: { input_tokens: this.usage.input_tokens, output_tokens: this.usage.output_tokens },
      }) +
      this.event('message_stop', {})
    );
  }
}
