import assert from 'node:assert/strict';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';

// The smallest valid PNG.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);
const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a place',
  input_schema: { type: 'object' as const, properties: { query: { type: 'string' } }, required: ['query'] },
};

/** The latest official Anthropic SDK, unmodified, against Palisade in front of a loopback Anthropic-speaking upstream. */
describe('the official Anthropic SDK through the gateway', () => {
  let t: TestApp;
  let up: ModelUpstream;
  let base: string;
  let orgId: string;
  let owner: Agent;
  let key: string;
  const db = () => t.db.database.db;
  const lastGatewayEvent = async () => {
    const e = await db()
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('action', '=', 'gateway.request_handled')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    return { ...e, meta: JSON.parse(e.metadata) as Record<string, unknown> };
  };
  /** Counts the HTTP attempts the SDK makes (its retries included). */
  const counting = () => {
    const calls: number[] = [];
    const f: typeof fetch = (input, init) => {
      calls.push(Date.now());
      return fetch(input, init);
    };
    return { calls, fetch: f };
  };
  const client = (opts: { maxRetries?: number; fetch?: typeof fetch; apiKey?: string } = {}) =>
    new Anthropic({
      apiKey: opts.apiKey ?? key,
      baseURL: base,
      maxRetries: opts.maxRetries ?? 0,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });

  before(async () => {
    up = await startModelUpstream();
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    assert.equal(
      (
        await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
          name: 'loop',
          kind: 'anthropic',
          baseUrl: up.url,
          apiKey: 'sk-up',
        })
      ).status,
      200,
    );
    key = (await owner.post(`/api/v1/orgs/${orgId}/gateway/keys`, { name: 'sdk' })).body.key;
  });
  after(async () => {
    t.app.server.closeAllConnections();
    await t.close();
    await up.close();
  });

  test('a plain request answers, with Palisade request id and the provider one beside it', async () => {
    const { data, response, request_id } = await client()
      .messages.create({ model: 'claude-test', max_tokens: 30, messages: [{ role: 'user', content: 'hello' }] })
      .withResponse();
    assert.deepEqual(data.content, [{ type: 'text', text: 'echo: hello' }]);
    assert.match(String(request_id), /./);
    assert.match(String(response.headers.get('upstream-request-id')), /^req_up_\d+$/);
    assert.notEqual(response.headers.get('upstream-request-id'), request_id);
    assert.equal(response.headers.get('anthropic-ratelimit-requests-remaining'), '49');
  });

  test('streaming delivers text deltas and the final usage', async () => {
    const stream = client().messages.stream({
      model: 'claude-test',
      max_tokens: 30,
      messages: [{ role: 'user', content: 'stream me' }],
    });
    const parts: string[] = [];
    stream.on('text', (d) => parts.push(d));
    const final = await stream.finalMessage();
    assert.equal(parts.join(''), 'echo: stream me');
    assert.equal(final.usage.output_tokens, 7);
    assert.equal((await lastGatewayEvent()).outcome, 'success');
  });

  test('tool use round trip: the tool call comes back, the tool result goes up, the answer uses it (JSON and streaming)', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'weather in Paris' }];
    const first = await client().messages.create({
      model: 'claude-test',
      max_tokens: 100,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages,
    });
    assert.equal(first.stop_reason, 'tool_use');
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    assert.deepEqual(use?.input, { query: 'weather in Paris' });
    assert.deepEqual(up.seen.at(-1)?.body.tool_choice, { type: 'tool', name: 'get_weather' });
    messages.push(
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use?.id as string, content: '18°C and sunny' }] },
    );
    const second = await client().messages.create({
      model: 'claude-test',
      max_tokens: 100,
      tools: [WEATHER_TOOL],
      messages,
    });
    assert.deepEqual(second.content, [{ type: 'text', text: 'tool said: 18°C and sunny' }]);

    const streamed = await client()
      .messages.stream({
        model: 'claude-test',
        max_tokens: 100,
        tools: [WEATHER_TOOL],
        messages: [{ role: 'user', content: 'weather in Oslo' }],
      })
      .finalMessage();
    const su = streamed.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    assert.equal(su?.name, 'get_weather');
    assert.deepEqual(su?.input, { query: 'weather in Oslo' }, 'input_json_delta fragments arrive whole');
    // The retained exchange keeps the tool call, not only the text around it.
    const convs = (await owner.get(`/api/v1/orgs/${orgId}/conversations?limit=100`)).body.data;
    const kept = await owner.get(`/api/v1/orgs/${orgId}/conversations/${convs.at(-1).id}`);
    assert.equal(kept.body.messages[1].content, 'Let me look.\n[tool call get_weather] {"query":"weather in Oslo"}');
  });

  test('images pass through as content blocks', async () => {
    const r = await client().messages.create({
      model: 'claude-test',
      max_tokens: 30,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') } },
            { type: 'text', text: 'what is this?' },
          ],
        },
      ],
    });
    assert.deepEqual(r.content, [{ type: 'text', text: `echo: [image image/png ${PNG.length} bytes] what is this?` }]);
  });

  test('429: the SDK sees the provider retry-after and rate-limit headers, and honours them when it retries', async () => {
    const refused = await client()
      .messages.create({ model: 'rate-limited', max_tokens: 10, messages: [{ role: 'user', content: 'once' }] })
      .catch((e: unknown) => e);
    assert.ok(refused instanceof Anthropic.RateLimitError, String(refused));
    assert.equal(refused.headers?.get('retry-after'), '1');
    assert.equal(refused.headers?.get('anthropic-ratelimit-requests-remaining'), '0');
    assert.match(String(refused.headers?.get('upstream-request-id')), /^req_up_/);
    assert.equal((await lastGatewayEvent()).outcome, 'failure');

    const c = counting();
    const ok = await client({ maxRetries: 2, fetch: c.fetch }).messages.create({
      model: 'rate-limited',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'twice' }],
    });
    assert.deepEqual(ok.content, [{ type: 'text', text: 'echo: twice' }]);
    assert.equal(c.calls.length, 2);
    // The SDK's own first backoff is under 0.5 s; a wait of a second is the provider's retry-after.
    assert.ok(
      (c.calls[1] as number) - (c.calls[0] as number) >= 950,
      `waited ${(c.calls[1] as number) - (c.calls[0] as number)} ms`,
    );
  });

  test('413: an oversized request is refused in Anthropic shape before its body is read, once, without a reset', async () => {
    const before = up.seen.length;
    const c = counting();
    const huge = 'x'.repeat(34 * 1024 * 1024);
    const err = await client({ maxRetries: 2, fetch: c.fetch })
      .messages.create({ model: 'claude-test', max_tokens: 10, messages: [{ role: 'user', content: huge }] })
      .catch((e: unknown) => e);
    assert.ok(err instanceof Anthropic.APIError && !(err instanceof Anthropic.APIConnectionError), String(err));
    assert.equal(err.status, 413);
    assert.equal((err.error as { error: { type: string } }).error.type, 'request_too_large');
    assert.match(err.message, /limited to 33554432 bytes/);
    assert.equal(c.calls.length, 1, 'a 413 is not retried');
    assert.equal(up.seen.length, before, 'nothing reached the provider');
    // The connection stayed usable: the next request works.
    assert.equal(
      (
        await client().messages.create({
          model: 'claude-test',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'after' }],
        })
      ).content.length,
      1,
    );
  });

  test('413 at the socket: a client still uploading reads the answer, finishes its upload without a reset, and keeps the connection', async () => {
    const { port } = t.app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    let received = '';
    let resetOrClosed: string | null = null;
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (resetOrClosed = e.code ?? 'error'));
    socket.on('end', () => (resetOrClosed ??= 'closed by server'));
    const total = 34 * 1024 * 1024;
    socket.write(
      `POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: ${key}\r\ncontent-type: application/json\r\ncontent-length: ${total}\r\n\r\n`,
    );
    // The answer comes before the body is sent at all.
    for (let i = 0; i < 100 && !received.includes('request_too_large'); i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.match(received, /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(received, /connection: close/i);
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
    }
    received = '';
    socket.write(
      `POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: ${key}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
    );
    for (let i = 0; i < 200 && !received.includes('invalid_request'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(resetOrClosed, null, 'no reset, no close');
    assert.match(received, /^HTTP\/1\.1 400 /, 'the same connection serves the next request');
    socket.destroy();
  });

  test('abort: a client that aborts mid-stream cancels the upstream call, audited as cancelled', async () => {
    const ac = new AbortController();
    const stream = client().messages.stream(
      { model: 'hold-stream', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
      { signal: ac.signal },
    );
    stream.on('text', () => ac.abort());
    await assert.rejects(stream.finalMessage(), (e: unknown) => e instanceof Anthropic.APIUserAbortError);
    await up.cancelled;
    for (let i = 0; i < 50 && (await lastGatewayEvent()).meta.model !== 'hold-stream'; i++)
      await new Promise((r) => setTimeout(r, 20));
    const ev = await lastGatewayEvent();
    assert.equal(ev.meta.cancelled, true);
    assert.equal(ev.outcome, 'failure');
  });

  test('a stream that ends in an upstream error surfaces in the SDK and is audited as a failure, not retained', async () => {
    const stream = client().messages.stream({
      model: 'error-mid-stream',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    });
    await assert.rejects(
      stream.finalMessage(),
      (e: unknown) => e instanceof Anthropic.APIError && /Overloaded/.test(e.message),
    );
    // The SDK stops at the error event; Palisade records the request as the stream closes.
    for (let i = 0; i < 100 && (await lastGatewayEvent().catch(() => null))?.meta.model !== 'error-mid-stream'; i++)
      await new Promise((r) => setTimeout(r, 20));
    const ev = await lastGatewayEvent();
    assert.equal(ev.outcome, 'failure');
    assert.equal(ev.meta.streamError, 'overloaded_error');
    assert.equal(ev.meta.retained, false);
  });

  test('gateway exchanges are listed as conversations whose retained content is "available", not "not_retained"', async () => {
    await client().messages.create({
      model: 'claude-test',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'keep me' }],
    });
    const list = await owner.get(`/api/v1/orgs/${orgId}/conversations?limit=100`);
    assert.equal(list.status, 200);
    const gateway = list.body.data.filter((c: { source: string }) => c.source === 'gateway');
    assert.ok(gateway.length >= 1);
    for (const c of gateway) {
      assert.equal(c.contentStatus, 'available');
      assert.equal(c.title, null);
    }
    const last = gateway.at(-1);
    const read = await owner.get(`/api/v1/orgs/${orgId}/conversations/${last.id}`);
    assert.deepEqual(
      read.body.messages.map((m: { role: string }) => m.role),
      ['user', 'assistant'],
    );
    assert.equal(read.body.messages[1].content, 'echo: keep me');
  });

  test('count_tokens answers through the gateway, audited with sizes only', async () => {
    const r = await client().messages.countTokens({
      model: 'claude-test',
      messages: [{ role: 'user', content: 'count these tokens please' }],
    });
    assert.ok(r.input_tokens > 0);
    assert.equal(up.seen.at(-1)?.path, '/v1/messages/count_tokens');
    const ev = await lastGatewayEvent();
    assert.equal(ev.meta.endpoint, '/v1/messages/count_tokens');
    assert.equal(ev.meta.inputTokens, r.input_tokens);
    assert.ok(!ev.metadata.includes('count these'));
  });

  test("models: the list is the provider's, filtered by the organization's allowed models; others are refused", async () => {
    const all = [];
    for await (const m of client().models.list()) all.push(m.id);
    assert.deepEqual(all, up.models);
    const set = await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
      name: 'loop',
      kind: 'anthropic',
      baseUrl: up.url,
      allowedModels: ['claude-test', 'gpt-*'],
    });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.allowedModels, ['claude-test', 'gpt-*']);
    assert.equal(set.body.hasCredential, true, 'the credential is kept');
    const allowed = [];
    for await (const m of client().models.list()) allowed.push(m);
    assert.deepEqual(
      allowed.map((m) => m.id),
      ['claude-test', 'gpt-test'],
    );
    assert.equal(allowed[0]?.type, 'model');
    assert.equal((await client().models.retrieve('claude-test')).id, 'claude-test');
    await assert.rejects(
      client().models.retrieve('claude-other'),
      (e: unknown) => e instanceof Anthropic.NotFoundError,
    );
    const before = up.seen.length;
    const refused = await client()
      .messages.create({ model: 'claude-other', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    assert.ok(refused instanceof Anthropic.PermissionDeniedError);
    assert.match(
      (refused.error as { error: { message: string } }).error.message,
      /does not allow the model "claude-other"/,
    );
    assert.equal(
      up.seen.filter((s) => s.method === 'POST').length,
      up.seen.slice(0, before).filter((s) => s.method === 'POST').length,
      'nothing was sent upstream',
    );
    const ev = await lastGatewayEvent();
    assert.equal(ev.outcome, 'denied');
    assert.equal(ev.meta.reason, 'model_not_allowed');
    assert.equal(
      (
        await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
          name: 'loop',
          kind: 'anthropic',
          baseUrl: up.url,
          allowedModels: null,
        })
      ).status,
      200,
    );
  });

  test('a mistyped gateway key is told apart from an API token, and from a provider key', async () => {
    for (const apiKey of [key.slice(0, -1), `${key}x`]) {
      const e = await client({ apiKey })
        .messages.create({ model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
        .catch((x: unknown) => x);
      assert.ok(e instanceof Anthropic.AuthenticationError);
      assert.match(
        (e.error as { error: { message: string } }).error.message,
        /gateway key is not valid.*pls_gwk_ followed by 43 characters/,
      );
      assert.match(e.message, /invalid_gateway_key/);
    }
    const provider = await client({ apiKey: 'sk-ant-api03-abcdef' })
      .messages.create({ model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((x: unknown) => x);
    assert.ok(provider instanceof Anthropic.AuthenticationError);
    assert.match((provider.error as { error: { message: string } }).error.message, /not a Palisade gateway key/);
    // Sent as a bearer token, a mistyped key gets the same gateway-key message, not the API-token one.
    const bearer = await fetch(`${base}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.slice(0, -2)}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await bearer.json()) as { error: { type: string; message: string } };
    assert.equal(bearer.status, 401);
    assert.equal(body.error.type, 'authentication_error');
    assert.match(body.error.message, /gateway key is not valid/);
  });

  describe('in front of an OpenAI-compatible provider (translated)', () => {
    let keyV: string;
    let orgV: string;
    const v = (opts: { maxRetries?: number; fetch?: typeof fetch } = {}) => client({ ...opts, apiKey: keyV });
    before(async () => {
      const seeded = await t.seedOrg('Vllm Shop', 'owner@vllm.example');
      orgV = seeded.orgId;
      assert.equal(
        (
          await seeded.owner.request('PUT', `/api/v1/orgs/${orgV}/gateway/upstream`, {
            name: 'vllm',
            kind: 'openai',
            baseUrl: up.url,
            apiKey: 'sk-vllm',
          })
        ).status,
        200,
      );
      keyV = (await seeded.owner.post(`/api/v1/orgs/${orgV}/gateway/keys`, { name: 'sdk' })).body.key;
    });

    test('plain and streaming answers come back as Anthropic messages and events, with usage and store=false upstream', async () => {
      const r = await v().messages.create({
        model: 'gpt-test',
        max_tokens: 30,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'hello' }],
      });
      assert.deepEqual(r.content, [{ type: 'text', text: 'echo: hello' }]);
      assert.equal(r.stop_reason, 'end_turn');
      assert.deepEqual(r.usage, { input_tokens: 5, output_tokens: 3 });
      const seen = up.seen.at(-1) as { path: string; body: Record<string, unknown>; headers: Record<string, unknown> };
      assert.equal(seen.path, '/v1/chat/completions');
      assert.deepEqual(seen.body.messages, [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello' },
      ]);
      assert.equal(seen.body.store, false);
      assert.equal(seen.headers.authorization, 'Bearer sk-vllm');
      const stream = v().messages.stream({
        model: 'gpt-test',
        max_tokens: 30,
        messages: [{ role: 'user', content: 'stream me' }],
      });
      const parts: string[] = [];
      stream.on('text', (d) => parts.push(d));
      const final = await stream.finalMessage();
      assert.equal(parts.join(''), 'echo: stream me');
      assert.equal(final.stop_reason, 'end_turn');
      assert.equal(final.usage.output_tokens, 3);
      const ev = await db()
        .selectFrom('audit_events')
        .selectAll()
        .where('org_id', '=', orgV)
        .where('action', '=', 'gateway.request_handled')
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow();
      const meta = JSON.parse(ev.metadata) as Record<string, unknown>;
      assert.equal(ev.outcome, 'success');
      assert.equal(meta.translated, true);
      assert.equal(meta.inputTokens, 5);
    });

    test('tool use round trip, JSON and streaming: tools, tool_choice, tool_use and tool_result translated', async () => {
      const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'weather in Lima' }];
      const first = await v().messages.create({
        model: 'gpt-test',
        max_tokens: 100,
        tools: [WEATHER_TOOL],
        tool_choice: { type: 'any', disable_parallel_tool_use: true },
        messages,
      });
      const sent = up.seen.at(-1)?.body as Record<string, unknown>;
      assert.deepEqual(sent.tools, [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather for a place',
            parameters: WEATHER_TOOL.input_schema,
          },
        },
      ]);
      assert.equal(sent.tool_choice, 'required');
      assert.equal(sent.parallel_tool_calls, false);
      assert.equal(first.stop_reason, 'tool_use');
      const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      assert.equal(use?.name, 'get_weather');
      assert.deepEqual(use?.input, { query: 'weather in Lima' });
      messages.push(
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use?.id as string, content: '21°C' }] },
      );
      const second = await v().messages.create({ model: 'gpt-test', max_tokens: 100, tools: [WEATHER_TOOL], messages });
      assert.deepEqual(second.content, [{ type: 'text', text: 'tool said: 21°C' }]);
      const up2 = up.seen.at(-1)?.body.messages as { role: string; tool_call_id?: string; tool_calls?: unknown[] }[];
      assert.deepEqual(
        up2.map((m) => m.role),
        ['user', 'assistant', 'tool'],
      );
      assert.equal(up2[2]?.tool_call_id, use?.id);
      assert.equal(up2[1]?.tool_calls?.length, 1);

      const streamed = await v()
        .messages.stream({
          model: 'gpt-test',
          max_tokens: 100,
          tools: [WEATHER_TOOL],
          messages: [{ role: 'user', content: 'weather in Quito' }],
        })
        .finalMessage();
      assert.equal(streamed.stop_reason, 'tool_use');
      const su = streamed.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
      assert.equal(su?.id, 'call_up_1');
      assert.deepEqual(su?.input, { query: 'weather in Quito' });
    });

    test('images go up as image_url parts; blocks without an equivalent are refused by name', async () => {
      const r = await v().messages.create({
        model: 'gpt-test',
        max_tokens: 30,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') } },
              { type: 'text', text: 'what?' },
            ],
          },
        ],
      });
      assert.match((r.content[0] as Anthropic.TextBlock).text, /^echo: \[image_url data:image\/png;base64,iVBOR/);
      const parts = (up.seen.at(-1)?.body.messages as { content: unknown }[])[0]?.content;
      assert.deepEqual(parts, [
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG.toString('base64')}` } },
        { type: 'text', text: 'what?' },
      ]);
      // top_k is not in this SDK's types any more; older clients still send it.
      const bad = await v()
        .messages.create({
          model: 'gpt-test',
          max_tokens: 5,
          messages: [{ role: 'user', content: 'x' }],
          ...({ top_k: 5 } as object),
        })
        .catch((e: unknown) => e);
      assert.ok(bad instanceof Anthropic.BadRequestError);
      assert.match((bad.error as { error: { message: string } }).error.message, /^top_k: .*\(unsupported_parameter\)$/);
    });

    test("429: the provider's retry-after and x-ratelimit headers reach the SDK in Anthropic's error shape; the retry waits", async () => {
      const refused = await v()
        .messages.create({ model: 'rate-limited', max_tokens: 5, messages: [{ role: 'user', content: 'v-once' }] })
        .catch((e: unknown) => e);
      assert.ok(refused instanceof Anthropic.RateLimitError);
      assert.equal((refused.error as { error: { type: string } }).error.type, 'rate_limit_error');
      assert.equal(refused.headers?.get('x-ratelimit-remaining-requests'), '0');
      const c = counting();
      const ok = await v({ maxRetries: 2, fetch: c.fetch }).messages.create({
        model: 'rate-limited',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'v-twice' }],
      });
      assert.deepEqual(ok.content, [{ type: 'text', text: 'echo: v-twice' }]);
      assert.ok((c.calls[1] as number) - (c.calls[0] as number) >= 950);
    });
  });
});
