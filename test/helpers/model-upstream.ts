import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  at: number;
}

export interface ModelUpstream {
  url: string;
  seen: SeenRequest[];
  /** Resolves when a held response's client connection closed (the gateway cancelled it). */
  cancelled: Promise<void>;
  /** Resolves when a held request (hold-stream, hold-json) has arrived. */
  holding: Promise<void>;
  /** Models GET /v1/models lists. */
  models: string[];
  close(): Promise<void>;
}

type Block = Record<string, unknown>;

/** What a message's content says, in words: text parts as is, other parts named with their key facts. */
function describeContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return JSON.stringify(content ?? '');
  return (content as Block[])
    .map((b) => {
      if (b.type === 'text') return String(b.text);
      if (b.type === 'image') {
        const s = b.source as { type: string; media_type?: string; data?: string; url?: string };
        return s.type === 'base64'
          ? `[image ${s.media_type} ${Buffer.from(String(s.data), 'base64').length} bytes]`
          : `[image url ${s.url}]`;
      }
      if (b.type === 'image_url') return `[image_url ${(b.image_url as { url: string }).url.slice(0, 40)}]`;
      if (b.type === 'tool_result') return `[tool_result ${b.tool_use_id}: ${describeContent(b.content)}]`;
      return `[${String(b.type)}]`;
    })
    .join(' ');
}

/**
 * A real HTTP server on loopback that speaks the Anthropic Messages API (JSON, SSE streaming, tool
 * use, count_tokens, the model list, its error shapes and rate-limit headers) and OpenAI chat
 * completions (JSON, SSE with include_usage, tool calls, the model list), written for these tests.
 * Every answer carries a `request-id` (Anthropic) / `x-request-id` (OpenAI) of its own. Models:
 *   any name          → echoes the last user message (images and tool results described in words)
 *   any name + tools  → asks for the first tool with {"query": <last user text>}; after a tool
 *                       result, answers "tool said: …"
 *   overloaded-model  → 529 overloaded_error      missing-model → 404 not_found_error
 *   rate-limited      → 429 with retry-after: 1 and rate-limit headers on the first call of each
 *                       prompt, the echo on the next
 *   error-mid-stream  → streams a first delta, then an `error` event (overloaded) and ends
 *   hold-stream       → streams one event, then holds the connection open until the client leaves
 *   hold-json         → never answers; resolves `cancelled` when the client leaves
 *   slow-<ms>         → the echo, answered after <ms> milliseconds (JSON)
 */
export async function startModelUpstream(): Promise<ModelUpstream> {
  const seen: SeenRequest[] = [];
  let onCancel: () => void = () => undefined;
  const cancelled = new Promise<void>((r) => (onCancel = r));
  let onHolding: () => void = () => undefined;
  const holding = new Promise<void>((r) => (onHolding = r));
  const rateLimitedOnce = new Set<string>();
  const models = ['claude-test', 'claude-other', 'gpt-test'];
  let counter = 0;
  const sse = (res: ServerResponse, event: string | null, data: unknown) =>
    res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      counter += 1;
      const requestId = `req_up_${counter}`;
      const openai = (req.url ?? '').startsWith('/v1/chat/') || req.headers.authorization !== undefined;
      const json = (status: number, body: unknown, extra: Record<string, string> = {}) =>
        res
          .writeHead(status, {
            'content-type': 'application/json',
            'request-id': requestId,
            'x-request-id': requestId,
            ...extra,
          })
          .end(JSON.stringify(body));
      const anthropicError = (status: number, type: string, message: string, extra: Record<string, string> = {}) =>
        json(status, { type: 'error', error: { type, message }, request_id: requestId }, extra);
      const openaiError = (status: number, type: string, message: string, extra: Record<string, string> = {}) =>
        json(status, { error: { message, type, param: null, code: type } }, extra);

      if (req.method === 'GET' && req.url?.startsWith('/v1/models')) {
        seen.push({ method: 'GET', path: req.url, headers: req.headers, body: {}, at: Date.now() });
        if (req.headers['x-api-key'] !== undefined || req.headers['anthropic-version'] !== undefined) {
          json(200, {
            data: models.map((id) => ({
              type: 'model',
              id,
              display_name: id.toUpperCase(),
              created_at: '2025-01-01T00:00:00Z',
            })),
            has_more: false,
            first_id: models[0],
            last_id: models.at(-1),
          });
        } else {
          json(200, {
            object: 'list',
            data: models.map((id) => ({ id, object: 'model', created: 1735689600, owned_by: 'loopback' })),
          });
        }
        return;
      }
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        anthropicError(400, 'invalid_request_error', 'bad json');
        return;
      }
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      const messages = (body.messages as { role: string; content: unknown; tool_call_id?: string }[] | undefined) ?? [];
      const last = messages[messages.length - 1];
      const lastText = describeContent(last?.content);
      const model = String(body.model);
      const tools = (body.tools as Block[] | undefined) ?? [];

      const slow = /^slow-(\d+)$/.exec(model);
      if (slow) {
        setTimeout(
          () =>
            json(200, {
              id: `msg_${counter}`,
              type: 'message',
              role: 'assistant',
              model,
              content: [{ type: 'text', text: lastText }],
              stop_reason: 'end_turn',
              stop_sequence: null,
              usage: { input_tokens: 1, output_tokens: 1 },
            }),
          Number(slow[1]),
        );
        return;
      }
      if (model === 'hold-json') {
        onHolding();
        res.on('close', () => onCancel());
        return;
      }
      if (model === 'rate-limited') {
        const k = `${req.url} ${lastText}`;
        if (!rateLimitedOnce.has(k)) {
          rateLimitedOnce.add(k);
          const headers = {
            'retry-after': '1',
            'anthropic-ratelimit-requests-limit': '50',
            'anthropic-ratelimit-requests-remaining': '0',
            'anthropic-ratelimit-requests-reset': '2030-01-01T00:00:01Z',
            'x-ratelimit-limit-requests': '50',
            'x-ratelimit-remaining-requests': '0',
            'x-ratelimit-reset-requests': '1s',
          };
          if (openai) openaiError(429, 'rate_limit_exceeded', 'Rate limit reached', headers);
          else anthropicError(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit', headers);
          return;
        }
      }

      if (req.url === '/v1/messages/count_tokens') {
        const chars =
          JSON.stringify(body.messages ?? '').length +
          JSON.stringify(body.system ?? '').length +
          JSON.stringify(body.tools ?? '').length;
        json(200, { input_tokens: Math.ceil(chars / 4) });
        return;
      }

      if (req.url === '/v1/chat/completions') {
        const lastTool = last?.role === 'tool';
        const toolCall = tools.length > 0 && !lastTool;
        const fn = (tools[0]?.function as { name?: string } | undefined)?.name ?? 'tool';
        const text = lastTool ? `tool said: ${describeContent(last?.content)}` : `echo: ${lastText}`;
        const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
        if (body.stream === true) {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': requestId });
          const chunk = (delta: unknown, finish: string | null) =>
            sse(res, null, {
              id: 'chatcmpl-up',
              object: 'chat.completion.chunk',
              created: 1,
              model,
              choices: [{ index: 0, delta, finish_reason: finish }],
            });
          chunk({ role: 'assistant', content: '' }, null);
          if (toolCall) {
            chunk(
              { tool_calls: [{ index: 0, id: 'call_up_1', type: 'function', function: { name: fn, arguments: '' } }] },
              null,
            );
            chunk({ tool_calls: [{ index: 0, function: { arguments: JSON.stringify({ query: lastText }) } }] }, null);
            chunk({}, 'tool_calls');
          } else {
            chunk({ content: text }, null);
            chunk({}, 'stop');
          }
          if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage)
            sse(res, null, {
              id: 'chatcmpl-up',
              object: 'chat.completion.chunk',
              created: 1,
              model,
              choices: [],
              usage,
            });
          sse(res, null, '[DONE]');
          res.end();
          return;
        }
        const message = toolCall
          ? {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: 'call_up_1',
                  type: 'function',
                  function: { name: fn, arguments: JSON.stringify({ query: lastText }) },
                },
              ],
            }
          : { role: 'assistant', content: text };
        json(200, {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model,
          choices: [{ index: 0, message, finish_reason: toolCall ? 'tool_calls' : 'stop' }],
          usage,
        });
        return;
      }
      if (req.url !== '/v1/messages') {
        anthropicError(404, 'not_found_error', 'Not found');
        return;
      }
      if (model === 'overloaded-model') {
        anthropicError(529, 'overloaded_error', 'Overloaded');
        return;
      }
      if (model === 'missing-model') {
        anthropicError(404, 'not_found_error', `model: ${model}`);
        return;
      }
      const lastBlocks = Array.isArray(last?.content) ? (last?.content as Block[]) : [];
      const toolResult = lastBlocks.find((b) => b.type === 'tool_result');
      const useTool =
        tools.length > 0 && !toolResult && body.tool_choice !== undefined
          ? (body.tool_choice as { type: string }).type !== 'none'
          : tools.length > 0 && !toolResult;
      const toolName =
        (body.tool_choice as { type?: string; name?: string } | undefined)?.type === 'tool'
          ? String((body.tool_choice as { name: string }).name)
          : String(tools[0]?.name ?? 'tool');
      const text = toolResult ? `tool said: ${describeContent(toolResult.content)}` : `echo: ${lastText}`;
      const toolInput = { query: lastText };
      const rateHeaders = {
        'anthropic-ratelimit-requests-remaining': '49',
        'anthropic-ratelimit-tokens-remaining': '9000',
      };
      if (body.stream === true) {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          'request-id': requestId,
          ...rateHeaders,
        });
        sse(res, 'message_start', {
          type: 'message_start',
          message: {
            id: 'msg_up_1',
            type: 'message',
            role: 'assistant',
            model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 11, output_tokens: 1 },
          },
        });
        if (useTool) {
          sse(res, 'content_block_start', {
            type: 'content_block_start',
            index: 0,
            content_block: { type: 'text', text: '' },
          });
          sse(res, 'content_block_delta', {
            type: 'content_block_delta',
            index: 0,
            delta: { type: 'text_delta', text: 'Let me look.' },
          });
          sse(res, 'content_block_stop', { type: 'content_block_stop', index: 0 });
          sse(res, 'content_block_start', {
            type: 'content_block_start',
            index: 1,
            content_block: { type: 'tool_use', id: 'toolu_up_1', name: toolName, input: {} },
          });
          const args = JSON.stringify(toolInput);
          const cut = Math.ceil(args.length / 2);
          for (const part of [args.slice(0, cut), args.slice(cut)])
            sse(res, 'content_block_delta', {
              type: 'content_block_delta',
              index: 1,
              delta: { type: 'input_json_delta', partial_json: part },
            });
          sse(res, 'content_block_stop', { type: 'content_block_stop', index: 1 });
          sse(res, 'message_delta', {
            type: 'message_delta',
            delta: { stop_reason: 'tool_use', stop_sequence: null },
            usage: { output_tokens: 9 },
          });
          sse(res, 'message_stop', { type: 'message_stop' });
          res.end();
          return;
        }
        sse(res, 'content_block_start', {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'text', text: '' },
        });
        if (model === 'hold-stream') {
          sse(res, 'content_block_delta', {
            type: 'content_block_delta',
            index: 0,
            delta: { type: 'text_delta', text: 'partial' },
          });
          onHolding();
          res.on('close', () => onCancel());
          return;
        }
        if (model === 'error-mid-stream') {
          sse(res, 'content_block_delta', {
            type: 'content_block_delta',
            index: 0,
            delta: { type: 'text_delta', text: 'partial' },
          });
          sse(res, 'error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
          res.end();
          return;
        }
        const half = Math.ceil(text.length / 2);
        for (const part of [text.slice(0, half), text.slice(half)])
          sse(res, 'content_block_delta', {
            type: 'content_block_delta',
            index: 0,
            delta: { type: 'text_delta', text: part },
          });
        sse(res, 'content_block_stop', { type: 'content_block_stop', index: 0 });
        sse(res, 'message_delta', {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: 7 },
        });
        sse(res, 'message_stop', { type: 'message_stop' });
        res.end();
        return;
      }
      const content = useTool
        ? [
            { type: 'text', text: 'Let me look.' },
            { type: 'tool_use', id: 'toolu_up_1', name: toolName, input: toolInput },
          ]
        : [{ type: 'text', text }];
      json(
        200,
        {
          id: 'msg_up_1',
          type: 'message',
          role: 'assistant',
          model,
          content,
          stop_reason: useTool ? 'tool_use' : 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 11, output_tokens: 7 },
        },
        rateHeaders,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    cancelled,
    holding,
    models,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
