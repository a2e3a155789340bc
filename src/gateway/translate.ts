import { PalisadeError } from '../errors.js';

/**
 * OpenAI chat-completions clients in front of an Anthropic Messages upstream: the request (system
 * prompts, content parts and images, tools, tool_choice, assistant tool calls, tool results), the
 * JSON answer (text and tool calls), the SSE stream (text, tool-call deltas, the usage chunk of
 * `stream_options.include_usage`, errors) and error bodies are translated; nothing is dropped
 * silently — a field that has no equivalent is refused with a 400 naming it.
 */
type Json = Record<string, unknown>;

const unsupported = (field: string, why: string) =>
  new PalisadeError(400, 'unsupported_parameter', `${field}: ${why}`, { details: { field } });

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An image_url (data: URL or http(s) URL) as an Anthropic image source. */
function imageSource(url: string, field: string): Json {
  const data = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=\s]+)$/i.exec(url);
  if (data)
    return {
      type: 'base64',
      media_type: (data[1] as string).toLowerCase(),
      data: (data[2] as string).replace(/\s+/g, ''),
    };
  if (/^https?:\/\//i.test(url)) return { type: 'url', url };
  throw unsupported(
    field,
    'images must be a data: URL (image/png, image/jpeg, image/gif or image/webp, base64) or an http(s) URL.',
  );
}

/** OpenAI content (a string or parts) as Anthropic content blocks. */
function contentBlocks(content: unknown, field: string): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (content === null || content === undefined) return [];
  if (!Array.isArray(content)) throw unsupported(field, 'must be a string or an array of content parts.');
  return content.map((p, i) => {
    const f = `${field}[${i}]`;
    if (!isObj(p)) throw unsupported(f, 'each content part must be an object.');
    if (p.type === 'text') return { type: 'text', text: String(p.text ?? '') };
    if (p.type === 'image_url') {
      const iu = p.image_url;
      const url = typeof iu === 'string' ? iu : isObj(iu) ? String(iu.url ?? '') : '';
      return { type: 'image', source: imageSource(url, `${f}.image_url`) };
    }
    if (p.type === 'file' && isObj(p.file) && typeof p.file.file_data === 'string') {
      const pdf = /^data:application\/pdf;base64,(.+)$/s.exec(p.file.file_data);
      if (pdf) return { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf[1] } };
    }
    throw unsupported(
      f,
      `content parts of type "${String(p.type)}" cannot be sent to this organization's Anthropic provider; send text, image_url or a PDF file.`,
    );
  });
}

const textOnly = (content: unknown, field: string): string =>
  contentBlocks(content, field)
    .map((b) => {
      if (b.type !== 'text') throw unsupported(field, 'system and developer messages may contain text only.');
      return String(b.text);
    })
    .join('\n');

function toolInput(args: unknown, field: string): Json {
  if (isObj(args)) return args;
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const v = JSON.parse(args) as unknown;
    if (isObj(v)) return v;
  } catch {
    // reported below
  }
  throw unsupported(field, 'tool call arguments must be a JSON object encoded as a string.');
}

function toolChoice(choice: unknown, parallel: unknown): Json | undefined {
  const disable = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined || choice === null) return parallel === false ? { type: 'auto', ...disable } : undefined;
  if (choice === 'auto') return { type: 'auto', ...disable };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any', ...disable };
  if (isObj(choice) && choice.type === 'function' && isObj(choice.function) && typeof choice.function.name === 'string')
    return { type: 'tool', name: choice.function.name, ...disable };
  throw unsupported('tool_choice', 'use "auto", "none", "required" or {"type":"function","function":{"name":"…"}}.');
}

export function openaiToAnthropicRequest(body: Json): Json {
  if (typeof body.n === 'number' && body.n !== 1)
    throw unsupported('n', 'only one choice per request is available from this provider.');
  const raw = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  const system: string[] = [];
  const turns: { role: 'user' | 'assistant'; content: Json[] }[] = [];
  // Anthropic wants alternating turns, and every tool result in the user turn right after the call.
  const push = (role: 'user' | 'assistant', blocks: Json[]) => {
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  raw.forEach((m, i) => {
    const f = `messages[${i}]`;
    if (!isObj(m)) throw unsupported(f, 'each message must be an object.');
    if (m.role === 'system' || m.role === 'developer') system.push(textOnly(m.content, `${f}.content`));
    else if (m.role === 'user') push('user', contentBlocks(m.content, `${f}.content`));
    else if (m.role === 'assistant') {
      const blocks = contentBlocks(m.content, `${f}.content`);
      const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as unknown[]) : [];
      calls.forEach((c, j) => {
        const cf = `${f}.tool_calls[${j}]`;
        if (!isObj(c) || !isObj(c.function) || typeof c.id !== 'string')
          throw unsupported(cf, 'each tool call needs an id and a function with a name and arguments.');
        blocks.push({
          type: 'tool_use',
          id: c.id,
          name: String(c.function.name),
          input: toolInput(c.function.arguments, `${cf}.function.arguments`),
        });
      });
      push('assistant', blocks);
    } else if (m.role === 'tool') {
      if (typeof m.tool_call_id !== 'string')
        throw unsupported(`${f}.tool_call_id`, 'a tool message must name the tool call it answers.');
      const content = typeof m.content === 'string' ? m.content : contentBlocks(m.content, `${f}.content`);
      push('user', [{ type: 'tool_result', tool_use_id: m.tool_call_id, content }]);
    } else
      throw unsupported(
        `${f}.role`,
        `role "${String(m.role)}" is not supported; use system, developer, user, assistant or tool.`,
      );
  });
  const tools = Array.isArray(body.tools)
    ? (body.tools as unknown[]).map((t, i) => {
        if (!isObj(t) || t.type !== 'function' || !isObj(t.function) || typeof t.function.name !== 'string')
          throw unsupported(
            `tools[${i}]`,
            'only function tools ({"type":"function","function":{"name",…}}) are supported.',
          );
        const fn = t.function;
        return {
          name: fn.name,
          ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
          input_schema: isObj(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
        };
      })
    : undefined;
  const choice = tools?.length ? toolChoice(body.tool_choice, body.parallel_tool_calls) : undefined;
  const stop =
    body.stop === undefined || body.stop === null ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop];
  const user =
    typeof body.user === 'string'
      ? body.user
      : typeof body.safety_identifier === 'string'
        ? body.safety_identifier
        : undefined;
  return {
    model: body.model,
    max_tokens:
      typeof body.max_completion_tokens === 'number'
        ? body.max_completion_tokens
        : typeof body.max_tokens === 'number'
          ? body.max_tokens
          : 1024,
    messages: turns,
    ...(system.length ? { system: system.join('\n\n') } : {}),
    ...(typeof body.temperature === 'number' ? { temperature: Math.min(1, body.temperature) } : {}),
    ...(typeof body.top_p === 'number' ? { top_p: body.top_p } : {}),
    ...(stop ? { stop_sequences: stop } : {}),
    ...(tools?.length ? { tools } : {}),
    ...(choice ? { tool_choice: choice } : {}),
    ...(user ? { metadata: { user_id: user } } : {}),
    ...(body.stream === true ? { stream: true } : {}),
  };
}

const FINISH: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  pause_turn: 'stop',
  refusal: 'content_filter',
};

const usageOf = (u: {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}) => {
  const prompt = (u.input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: u.output_tokens ?? 0,
    total_tokens: prompt + (u.output_tokens ?? 0),
    ...(u.cache_read_input_tokens ? { prompt_tokens_details: { cached_tokens: u.cache_read_input_tokens } } : {}),
  };
};

export function anthropicToOpenaiResponse(j: Json, created: number): Json {
  const blocks = (j.content as Json[] | undefined) ?? [];
  const text = blocks
    .filter((c) => c.type === 'text')
    .map((c) => String(c.text ?? ''))
    .join('');
  const calls = blocks
    .filter((c) => c.type === 'tool_use')
    .map((c) => ({
      id: String(c.id),
      type: 'function',
      function: { name: String(c.name), arguments: JSON.stringify(c.input ?? {}) },
    }));
  return {
    id: `chatcmpl-${String(j.id ?? '')}`,
    object: 'chat.completion',
    created,
    model: j.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text === '' && calls.length ? null : text,
          refusal: null,
          ...(calls.length ? { tool_calls: calls } : {}),
        },
        logprobs: null,
        finish_reason: FINISH[String(j.stop_reason)] ?? 'stop',
      },
    ],
    usage: usageOf((j.usage as Parameters<typeof usageOf>[0] | undefined) ?? {}),
  };
}

export function anthropicErrorToOpenai(status: number, raw: Uint8Array): Json {
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
  private usage: Parameters<typeof usageOf>[0] = {};
  /** Anthropic content block index → OpenAI tool call index. */
  private readonly toolIndex = new Map<number, number>();
  constructor(
    private readonly created: number,
    private readonly includeUsage = false,
  ) {}
  private chunk(delta: Json, finish: string | null): string {
    return `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(this.includeUsage ? { usage: null } : {}) })}\n\n`;
  }
  onEvent(d: Json): string {
    if (d.type === 'message_start') {
      const m = d.message as { id?: string; model?: string; usage?: Parameters<typeof usageOf>[0] };
      this.id = `chatcmpl-${m.id ?? ''}`;
      this.model = m.model ?? '';
      this.usage = { ...m.usage };
      return this.chunk({ role: 'assistant', content: '' }, null);
    }
    if (d.type === 'content_block_start') {
      const b = d.content_block as Json;
      if (b.type !== 'tool_use') return '';
      const index = this.toolIndex.size;
      this.toolIndex.set(Number(d.index), index);
      return this.chunk(
        {
          tool_calls: [
            { index, id: String(b.id), type: 'function', function: { name: String(b.name), arguments: '' } },
          ],
        },
        null,
      );
    }
    if (d.type === 'content_block_delta') {
      const delta = d.delta as { type?: string; text?: string; partial_json?: string };
      if (delta.type === 'text_delta') return this.chunk({ content: delta.text ?? '' }, null);
      if (delta.type === 'input_json_delta') {
        const index = this.toolIndex.get(Number(d.index));
        return index === undefined
          ? ''
          : this.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json ?? '' } }] }, null);
      }
      return '';
    }
    if (d.type === 'message_delta') {
      Object.assign(
        this.usage,
        Object.fromEntries(
          Object.entries((d.usage as Json | undefined) ?? {}).filter(([, v]) => typeof v === 'number'),
        ),
      );
      const stop = (d.delta as { stop_reason?: string } | undefined)?.stop_reason;
      return this.chunk({}, FINISH[String(stop)] ?? 'stop');
    }
    if (d.type === 'message_stop') {
      const usage = this.includeUsage
        ? `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: usageOf(this.usage) })}\n\n`
        : '';
      return `${usage}data: [DONE]\n\n`;
    }
    if (d.type === 'error') {
      // OpenAI streams report a failure as a data line with an error object; SDKs raise it.
      const e = (d.error as { type?: string; message?: string } | undefined) ?? {};
      return `data: ${JSON.stringify({ error: { message: e.message ?? 'The model provider failed mid-stream.', type: e.type ?? 'server_error', param: null, code: e.type ?? 'server_error' } })}\n\n`;
    }
    return '';
  }
}
