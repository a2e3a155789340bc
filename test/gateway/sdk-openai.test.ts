import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);
const WEATHER: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a place',
    parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  },
};

/** Accumulates a streamed chat completion the way a client must: text, tool-call fragments by index, the usage chunk. */
async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | null | undefined = null;
  const calls: { id?: string; name?: string; args: string }[] = [];
  let chunks = 0;
  for await (const c of stream) {
    chunks += 1;
    if (c.usage) usage = c.usage;
    const choice = c.choices[0];
    if (!choice) continue;
    text += choice.delta.content ?? '';
    for (const tc of choice.delta.tool_calls ?? []) {
      const slot = (calls[tc.index] ??= { args: '' });
      if (tc.id) slot.id = tc.id;
      if (tc.function?.name) slot.name = tc.function.name;
      slot.args += tc.function?.arguments ?? '';
    }
    finish = choice.finish_reason ?? finish;
  }
  return { text, finish, usage, calls, chunks };
}

describe('the official OpenAI SDK through the gateway', () => {
  let t: TestApp;
  let up: ModelUpstream;
  let base: string;
  let orgA: string;
  let keyA: string;
  let ownerA: Agent;
  let orgB: string;
  let keyB: string;
  const db = () => t.db.database.db;
  const lastGatewayEvent = async (orgId: string) => {
    const e = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('action', '=', 'gateway.request_handled')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    return { ...e, meta: JSON.parse(e.metadata) as Record<string, unknown> };
  };
  const counting = () => {
    const calls: number[] = [];
    const f: typeof fetch = (input, init) => {
      calls.push(Date.now());
      return fetch(input, init);
    };
    return { calls, fetch: f };
  };
  const client = (apiKey: string, opts: { maxRetries?: number; fetch?: typeof fetch } = {}) =>
    new OpenAI({
      apiKey,
      baseURL: `${base}/v1`,
      maxRetries: opts.maxRetries ?? 0,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });

  before(async () => {
    up = await startModelUpstream();
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const a = await t.seedOrg('Alpha', 'owner@alpha.example');
    orgA = a.orgId;
    ownerA = a.owner;
    assert.equal(
      (
        await ownerA.request('PUT', `/api/v1/orgs/${orgA}/gateway/upstream`, {
          name: 'claude',
          kind: 'anthropic',
          baseUrl: up.url,
          apiKey: 'sk-up',
        })
      ).status,
      200,
    );
    keyA = (await ownerA.post(`/api/v1/orgs/${orgA}/gateway/keys`, { name: 'sdk' })).body.key;
    const b = await t.seedOrg('Beta', 'owner@beta.example');
    orgB = b.orgId;
    assert.equal(
      (
        await b.owner.request('PUT', `/api/v1/orgs/${orgB}/gateway/upstream`, {
          name: 'vllm',
          kind: 'openai',
          baseUrl: up.url,
          apiKey: 'sk-vllm',
        })
      ).status,
      200,
    );
    keyB = (await b.owner.post(`/api/v1/orgs/${orgB}/gateway/keys`, { name: 'sdk' })).body.key;
  });
  after(async () => {
    t.app.server.closeAllConnections();
    await t.close();
    await up.close();
  });

  describe('in front of an Anthropic provider (translated)', () => {
    test('a plain request answers in chat.completion shape with usage and both request ids', async () => {
      const { data, response } = await client(keyA)
        .chat.completions.create({
          model: 'claude-test',
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'hello' },
          ],
        })
        .withResponse();
      assert.equal(data.choices[0]?.message.content, 'echo: hello');
      assert.equal(data.choices[0]?.finish_reason, 'stop');
      assert.deepEqual(data.usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
      assert.match(String(response.headers.get('upstream-request-id')), /^req_up_/);
      assert.match(String(response.headers.get('x-request-id')), /^req_/);
      assert.equal(up.seen.at(-1)?.body.system, 'Be brief.');
    });

    test('streaming: deltas, the finish reason, and the usage chunk when include_usage asks for it', async () => {
      const plain = await collect(
        await client(keyA).chat.completions.create({
          model: 'claude-test',
          stream: true,
          messages: [{ role: 'user', content: 'stream me' }],
        }),
      );
      assert.equal(plain.text, 'echo: stream me');
      assert.equal(plain.finish, 'stop');
      assert.equal(plain.usage, null, 'no usage chunk unless asked');
      const withUsage = await collect(
        await client(keyA).chat.completions.create({
          model: 'claude-test',
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: 'count me' }],
        }),
      );
      assert.equal(withUsage.text, 'echo: count me');
      assert.deepEqual(withUsage.usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
      assert.equal(
        up.seen.at(-1)?.body.stream_options,
        undefined,
        'an OpenAI-only field is not sent to the Anthropic provider',
      );
    });

    test('tool use round trip: tools and tool_choice go up translated, tool calls come back, the tool result goes up as tool_result', async () => {
      const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'weather in Paris' }];
      const first = await client(keyA).chat.completions.create({
        model: 'claude-test',
        messages,
        tools: [WEATHER],
        tool_choice: 'required',
        parallel_tool_calls: false,
      });
      const seen = up.seen.at(-1)?.body as Record<string, unknown>;
      assert.deepEqual(seen.tools, [
        { name: 'get_weather', description: 'Current weather for a place', input_schema: WEATHER.function.parameters },
      ]);
      assert.deepEqual(seen.tool_choice, { type: 'any', disable_parallel_tool_use: true });
      const msg = first.choices[0]?.message;
      assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
      assert.equal(msg?.content, 'Let me look.');
      const call = msg?.tool_calls?.[0];
      assert.ok(call && call.type === 'function');
      assert.equal(call.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.function.arguments), { query: 'weather in Paris' });
      messages.push(msg as ChatCompletionMessageParam, {
        role: 'tool',
        tool_call_id: call.id,
        content: '18°C and sunny',
      });
      const second = await client(keyA).chat.completions.create({ model: 'claude-test', messages, tools: [WEATHER] });
      assert.equal(second.choices[0]?.message.content, 'tool said: 18°C and sunny');
      const up2 = up.seen.at(-1)?.body.messages as {
        role: string;
        content: { type: string; tool_use_id?: string; id?: string; input?: unknown }[];
      }[];
      assert.deepEqual(
        up2.map((m) => m.role),
        ['user', 'assistant', 'user'],
      );
      assert.deepEqual(
        up2[1]?.content.map((b) => b.type),
        ['text', 'tool_use'],
      );
      assert.deepEqual(up2[1]?.content[1]?.input, { query: 'weather in Paris' });
      assert.equal(up2[2]?.content[0]?.type, 'tool_result');
      assert.equal(up2[2]?.content[0]?.tool_use_id, call.id);

      // The same over a stream: tool-call fragments by index, finish reason tool_calls.
      const streamed = await collect(
        await client(keyA).chat.completions.create({
          model: 'claude-test',
          stream: true,
          tools: [WEATHER],
          tool_choice: { type: 'function', function: { name: 'get_weather' } },
          messages: [{ role: 'user', content: 'weather in Oslo' }],
        }),
      );
      assert.deepEqual(up.seen.at(-1)?.body.tool_choice, { type: 'tool', name: 'get_weather' });
      assert.equal(streamed.finish, 'tool_calls');
      assert.equal(streamed.text, 'Let me look.');
      assert.equal(streamed.calls.length, 1);
      assert.equal(streamed.calls[0]?.name, 'get_weather');
      assert.match(String(streamed.calls[0]?.id), /^toolu_/);
      assert.deepEqual(JSON.parse(streamed.calls[0]?.args ?? ''), { query: 'weather in Oslo' });
    });

    test('images and content parts are translated to Anthropic blocks', async () => {
      const r = await client(keyA).chat.completions.create({
        model: 'claude-test',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } },
              { type: 'text', text: 'what is this?' },
            ],
          },
        ],
      });
      assert.equal(r.choices[0]?.message.content, `echo: [image image/png ${PNG.length} bytes] what is this?`);
      const blocks = (up.seen.at(-1)?.body.messages as { content: unknown[] }[])[0]?.content;
      assert.deepEqual(blocks, [
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') } },
        { type: 'text', text: 'what is this?' },
      ]);
      // A part with no Anthropic equivalent is refused by name, not dropped.
      const before = up.seen.length;
      const bad = await client(keyA)
        .chat.completions.create({
          model: 'claude-test',
          messages: [
            { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] },
          ],
        })
        .catch((e: unknown) => e);
      assert.ok(bad instanceof OpenAI.BadRequestError);
      assert.equal(bad.code, 'unsupported_parameter');
      assert.equal(bad.param, 'messages[0].content[0]');
      assert.equal(up.seen.length, before);
    });

    test('429: retry-after and rate-limit headers reach the SDK, which waits as told', async () => {
      const refused = await client(keyA)
        .chat.completions.create({ model: 'rate-limited', messages: [{ role: 'user', content: 'once' }] })
        .catch((e: unknown) => e);
      assert.ok(refused instanceof OpenAI.RateLimitError);
      assert.equal(refused.headers?.get('retry-after'), '1');
      assert.equal(refused.headers?.get('anthropic-ratelimit-requests-remaining'), '0');
      assert.equal(refused.type, 'rate_limit_error');
      const c = counting();
      const ok = await client(keyA, { maxRetries: 2, fetch: c.fetch }).chat.completions.create({
        model: 'rate-limited',
        messages: [{ role: 'user', content: 'twice' }],
      });
      assert.equal(ok.choices[0]?.message.content, 'echo: twice');
      assert.equal(c.calls.length, 2);
      assert.ok(
        (c.calls[1] as number) - (c.calls[0] as number) >= 950,
        `waited ${(c.calls[1] as number) - (c.calls[0] as number)} ms`,
      );
    });

    test('413: refused in OpenAI shape, once', async () => {
      const c = counting();
      const err = await client(keyA, { maxRetries: 2, fetch: c.fetch })
        .chat.completions.create({
          model: 'claude-test',
          messages: [{ role: 'user', content: 'x'.repeat(34 * 1024 * 1024) }],
        })
        .catch((e: unknown) => e);
      assert.ok(err instanceof OpenAI.APIError && !(err instanceof OpenAI.APIConnectionError), String(err));
      assert.equal(err.status, 413);
      assert.equal(err.code, 'request_too_large');
      assert.match(err.message, /limited to 33554432 bytes/);
      assert.equal(c.calls.length, 1);
    });

    test('a stream that ends in an upstream error raises in the SDK and is audited as a failure', async () => {
      await assert.rejects(
        collect(
          await client(keyA).chat.completions.create({
            model: 'error-mid-stream',
            stream: true,
            messages: [{ role: 'user', content: 'x' }],
          }),
        ),
        (e: unknown) => e instanceof OpenAI.APIError && /Overloaded/.test(e.message),
      );
      for (let i = 0; i < 100 && (await lastGatewayEvent(orgA)).meta.model !== 'error-mid-stream'; i++)
        await new Promise((r) => setTimeout(r, 20));
      const ev = await lastGatewayEvent(orgA);
      assert.equal(ev.outcome, 'failure');
      assert.equal(ev.meta.streamError, 'overloaded_error');
    });

    test('abort: the SDK aborting a stream cancels the upstream call', async () => {
      const ac = new AbortController();
      const stream = await client(keyA).chat.completions.create(
        { model: 'hold-stream', stream: true, messages: [{ role: 'user', content: 'x' }] },
        { signal: ac.signal },
      );
      // The SDK ends the iteration quietly when its own signal aborts it.
      let text = '';
      for await (const c of stream) {
        text += c.choices[0]?.delta.content ?? '';
        if (text) ac.abort();
      }
      assert.equal(text, 'partial');
      await up.cancelled;
      for (let i = 0; i < 50 && (await lastGatewayEvent(orgA)).meta.model !== 'hold-stream'; i++)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal((await lastGatewayEvent(orgA)).meta.cancelled, true);
    });

    test('models in OpenAI shape', async () => {
      const ids = [];
      for await (const m of client(keyA).models.list()) {
        assert.equal(m.object, 'model');
        ids.push(m.id);
      }
      assert.deepEqual(ids, up.models);
      assert.equal((await client(keyA).models.retrieve('gpt-test')).id, 'gpt-test');
      // The organization comes from the key: naming another one is a 404, for the list and for one model.
      const foreign = new OpenAI({
        apiKey: keyA,
        baseURL: `${base}/v1`,
        maxRetries: 0,
        defaultHeaders: { 'x-palisade-org': orgB },
      });
      await assert.rejects(foreign.models.retrieve('gpt-test'), (e: unknown) => e instanceof OpenAI.NotFoundError);
      await assert.rejects(foreign.models.list(), (e: unknown) => e instanceof OpenAI.NotFoundError);
    });
  });

  describe('in front of an OpenAI-compatible provider (passthrough)', () => {
    test('plain, streaming with include_usage, and a tool round trip pass through, with store=false', async () => {
      const plain = await client(keyB).chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(plain.choices[0]?.message.content, 'echo: hi');
      assert.equal(up.seen.at(-1)?.body.store, false);
      assert.equal(up.seen.at(-1)?.headers.authorization, 'Bearer sk-vllm');
      const streamed = await collect(
        await client(keyB).chat.completions.create({
          model: 'gpt-test',
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: 'stream' }],
        }),
      );
      assert.equal(streamed.text, 'echo: stream');
      assert.deepEqual(streamed.usage, { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
      const ev = await lastGatewayEvent(orgB);
      assert.equal(ev.meta.inputTokens, 5);
      assert.equal(ev.outcome, 'success');
      // Without include_usage the client gets no usage chunk, yet Palisade asked for one and counted the tokens.
      const quiet = await collect(
        await client(keyB).chat.completions.create({
          model: 'gpt-test',
          stream: true,
          messages: [{ role: 'user', content: 'quiet' }],
        }),
      );
      assert.equal(quiet.text, 'echo: quiet');
      assert.equal(quiet.usage, null);
      assert.deepEqual(up.seen.at(-1)?.body.stream_options, { include_usage: true });
      const counted = await lastGatewayEvent(orgB);
      assert.equal(counted.meta.outputTokens, 3);
      assert.equal(counted.outcome, 'success');
      const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'weather in Rome' }];
      const first = await client(keyB).chat.completions.create({ model: 'gpt-test', tools: [WEATHER], messages });
      const call = first.choices[0]?.message.tool_calls?.[0];
      assert.ok(call && call.type === 'function');
      messages.push(first.choices[0]?.message as ChatCompletionMessageParam, {
        role: 'tool',
        tool_call_id: call.id,
        content: 'warm',
      });
      const second = await client(keyB).chat.completions.create({ model: 'gpt-test', tools: [WEATHER], messages });
      assert.equal(second.choices[0]?.message.content, 'tool said: warm');
    });

    test('429 passes through with its headers; the SDK honours retry-after', async () => {
      const c = counting();
      const ok = await client(keyB, { maxRetries: 2, fetch: c.fetch }).chat.completions.create({
        model: 'rate-limited',
        messages: [{ role: 'user', content: 'b' }],
      });
      assert.equal(ok.choices[0]?.message.content, 'echo: b');
      assert.equal(c.calls.length, 2);
      assert.ok((c.calls[1] as number) - (c.calls[0] as number) >= 950);
    });

    test('count_tokens is refused with a clear message for an OpenAI-compatible provider', async () => {
      const r = await fetch(`${base}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: { 'x-api-key': keyB, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', messages: [] }),
      });
      const body = (await r.json()) as { error: { type: string; message: string } };
      assert.equal(r.status, 400);
      assert.equal(body.error.type, 'invalid_request_error');
      assert.match(body.error.message, /no token-counting endpoint.*\(upstream_protocol_mismatch\)/);
    });
  });
});
