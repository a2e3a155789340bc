import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { revokeAllCredentials } from '../../src/auth/sessions.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';

const PROMPT = 'What is our secret launch codename?';

describe('model gateway: the official Anthropic SDK through Palisade to a real loopback upstream', () => {
  let t: TestApp;
  let up: ModelUpstream;
  let base: string;
  let orgA: string;
  let ownerA: Agent;
  let memberA: Agent;
  let memberAUserId: string;
  let keyA: string;
  let orgB: string;
  let keyB: string;
  before(async () => {
    up = await startModelUpstream();
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const a = await t.seedOrg('Alpha', 'owner@alpha.example');
    orgA = a.orgId;
    ownerA = a.owner;
    memberA = (await t.addMember(ownerA, orgA, 'member@alpha.example', 'member')).agent;
    const up1 = await ownerA.request('PUT', `/api/v1/orgs/${orgA}/gateway/upstream`, {
      name: 'Loopback Claude',
      kind: 'anthropic',
      baseUrl: up.url,
      apiKey: 'sk-upstream-secret-123',
    });
    assert.equal(up1.status, 200, up1.raw.body);
    assert.equal(up1.body.hasCredential, true);
    assert.ok(!up1.raw.body.includes('sk-upstream'));
    const k = await memberA.post(`/api/v1/orgs/${orgA}/gateway/keys`, { name: 'laptop' });
    assert.equal(k.status, 201, k.raw.body);
    keyA = k.body.key;
    memberAUserId = k.body.gatewayKey.userId;
    const b = await t.seedOrg('Beta', 'owner@beta.example');
    orgB = b.orgId;
    keyB = (await b.owner.post(`/api/v1/orgs/${orgB}/gateway/keys`, { name: 'b' })).body.key;
  });
  after(async () => {
    // Keep-alive connections from the SDK would otherwise hold the server open until they time out.
    t.app.server.closeAllConnections();
    await t.close();
    await up.close();
  });

  const sdk = (apiKey: string, headers: Record<string, string> = {}) =>
    new Anthropic({ apiKey, baseURL: base, maxRetries: 0, defaultHeaders: headers });

  test('a JSON request passes through with the org credential and the no-training policy; the upstream never sees the gateway key', async () => {
    const msg = await sdk(keyA).messages.create({
      model: 'claude-test',
      max_tokens: 64,
      messages: [{ role: 'user', content: PROMPT }],
    });
    assert.equal(msg.content[0]?.type, 'text');
    assert.equal((msg.content[0] as { text: string }).text, `echo: ${PROMPT}`);
    assert.equal(msg.usage.input_tokens, 11);
    const seen = up.seen.at(-1)!;
    assert.equal(seen.headers['x-api-key'], 'sk-upstream-secret-123');
    assert.equal(seen.headers['palisade-no-training'], 'true');
    assert.match(
      String(seen.headers['anthropic-version']),
      /^\d{4}-\d{2}-\d{2}$/,
      'the client anthropic-version passes through',
    );
    assert.ok(!JSON.stringify(seen.headers).includes('pls_gwk_'));
  });

  test('SSE streaming passes through to the SDK; usage and content are captured on the way', async () => {
    const stream = sdk(keyA).messages.stream({
      model: 'claude-test',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'stream please' }],
    });
    const deltas: string[] = [];
    stream.on('text', (d) => deltas.push(d));
    const final = await stream.finalMessage();
    assert.equal(deltas.join(''), 'echo: stream please');
    assert.ok(deltas.length >= 2, 'arrived as several deltas');
    assert.equal(final.usage.output_tokens, 7);
    const ev = await t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgA)
      .where('action', '=', 'gateway.request_handled')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    const meta = JSON.parse(ev.metadata);
    assert.equal(meta.stream, true);
    assert.equal(meta.inputTokens, 11);
    assert.equal(meta.outputTokens, 7);
    assert.equal(meta.noTraining, true);
    assert.equal(meta.retained, true);
  });

  test('upstream errors keep their status and Anthropic shape; Palisade refusals use the same shape', async () => {
    await assert.rejects(
      sdk(keyA).messages.create({
        model: 'overloaded-model',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => {
        assert.ok(e instanceof Anthropic.APIError);
        assert.equal(e.status, 529);
        assert.equal((e.error as { error: { type: string } }).error.type, 'overloaded_error');
        return true;
      },
    );
    await assert.rejects(
      sdk(keyA).messages.create({ model: 'missing-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof Anthropic.NotFoundError,
    );
    await assert.rejects(
      sdk('pls_gwk_' + 'A'.repeat(43)).messages.create({
        model: 'm',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => {
        assert.ok(e instanceof Anthropic.AuthenticationError);
        assert.equal((e.error as { type: string; error: { type: string } }).type, 'error');
        assert.equal((e.error as { error: { type: string } }).error.type, 'authentication_error');
        return true;
      },
    );
    // Missing max_tokens: invalid_request_error, never a 500.
    const raw = await fetch(`${base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keyA },
      body: JSON.stringify({ model: 'm', messages: [] }),
    });
    assert.equal(raw.status, 400);
    assert.equal(((await raw.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
  });

  test('the prompt is stored encrypted, readable by its owner; the audit log has sizes and tokens, never content', async () => {
    const db = t.db.database.db;
    const msgs = await db.selectFrom('workspace_messages').selectAll().where('org_id', '=', orgA).execute();
    assert.ok(msgs.length >= 4);
    for (const m of msgs)
      assert.ok(
        !m.content_ct.includes('secret launch') &&
          !Buffer.from(m.content_ct, 'base64').toString('latin1').includes('secret launch'),
      );
    const list = await memberA.get(`/api/v1/orgs/${orgA}/conversations`);
    assert.equal(list.status, 200);
    const gw = list.body.data.filter((c: { source: string }) => c.source === 'gateway');
    assert.ok(gw.length >= 2);
    const contents: string[] = [];
    for (const c of gw)
      for (const m of (await memberA.get(`/api/v1/orgs/${orgA}/conversations/${c.id}`)).body.messages)
        contents.push(m.content);
    assert.ok(contents.some((c) => c.includes(PROMPT)));
    assert.ok(contents.includes(`echo: ${PROMPT}`));
    // Another member of the same organization cannot read it.
    assert.equal((await ownerA.get(`/api/v1/orgs/${orgA}/conversations/${gw[0].id}`)).status, 404);
    const events = await db.selectFrom('audit_events').selectAll().where('org_id', '=', orgA).execute();
    for (const e of events)
      assert.ok(
        !JSON.stringify(e).includes('secret launch') &&
          !JSON.stringify(e).includes('echo:') &&
          !JSON.stringify(e).includes('sk-upstream'),
        e.action,
      );
    const usage = await ownerA.get(`/api/v1/orgs/${orgA}/gateway/usage`);
    const row = usage.body.data.find(
      (r: { userId: string; model: string }) => r.userId === memberAUserId && r.model === 'claude-test',
    );
    assert.ok(row.requests >= 2);
    assert.ok(row.inputTokens >= 22);
    // Members cannot read the usage report.
    assert.equal((await memberA.get(`/api/v1/orgs/${orgA}/gateway/usage`)).status, 403);
  });

  test('a signed-in member can call the gateway with their session (CSRF-protected); the audit event names the credential', async () => {
    const r = await ownerA.post('/v1/messages', {
      model: 'claude-test',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'from the browser' }],
    });
    assert.equal(r.status, 200, r.raw.body);
    assert.equal(r.body.content[0].text, 'echo: from the browser');
    const ev = await t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgA)
      .where('action', '=', 'gateway.request_handled')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(ev.metadata).credential, 'session');
    // Without the CSRF header a cookie alone is refused.
    const bare = await t.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { cookie: ownerA.cookie as string, 'content-type': 'application/json' },
      payload: { model: 'm', max_tokens: 5, messages: [] },
    });
    assert.equal(bare.statusCode, 403);
    assert.equal(bare.json().type, 'error');
    // Naming an organization the caller does not belong to is a not_found_error.
    const foreign = await ownerA.request(
      'POST',
      '/v1/messages',
      { model: 'm', max_tokens: 5, messages: [] },
      { 'x-palisade-org': orgB },
    );
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.error.type, 'not_found_error');
  });

  test('a client that disconnects mid-stream cancels the upstream request', async () => {
    const ac = new AbortController();
    const stream = sdk(keyA).messages.stream(
      { model: 'hold-stream', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
      { signal: ac.signal },
    );
    stream.on('text', () => ac.abort());
    await assert.rejects(stream.finalMessage());
    await up.cancelled; // the upstream saw its connection closed
  });

  test('OpenAI shape in front of the Anthropic provider: request, JSON, SSE and errors are translated', async () => {
    const post = (body: unknown) =>
      fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keyA}` },
        body: JSON.stringify(body),
      });
    const r = await post({
      model: 'claude-test',
      max_tokens: 50,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi there' },
      ],
    });
    assert.equal(r.status, 200);
    const j = (await r.json()) as {
      object: string;
      choices: { message: { content: string }; finish_reason: string }[];
      usage: { prompt_tokens: number; total_tokens: number };
    };
    assert.equal(j.object, 'chat.completion');
    assert.equal(j.choices[0]?.message.content, 'echo: hi there');
    assert.equal(j.choices[0]?.finish_reason, 'stop');
    assert.equal(j.usage.total_tokens, 18);
    const seen = up.seen.at(-1)!;
    assert.equal(seen.path, '/v1/messages');
    assert.equal(seen.body.system, 'Be brief.');
    assert.equal(seen.body.max_tokens, 50);
    assert.deepEqual(seen.body.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi there' }] }]);
    const s = await post({ model: 'claude-test', stream: true, messages: [{ role: 'user', content: 'streamed' }] });
    const text = await s.text();
    const chunks = text
      .split('\n\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)) as { object: string; choices: { delta: { content?: string } }[] });
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'echo: streamed');
    assert.ok(text.trimEnd().endsWith('data: [DONE]'));
    const e = await post({ model: 'overloaded-model', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(e.status, 529);
    assert.equal(((await e.json()) as { error: { type: string } }).error.type, 'overloaded_error');
  });

  test('OpenAI-compatible provider: passthrough with store=false; Anthropic clients in front of it are translated', async () => {
    // Org B points at an OpenAI-compatible server (vLLM/Ollama style).
    const ownerB = await t.login('owner@beta.example');
    assert.equal(
      (
        await ownerB.request('PUT', `/api/v1/orgs/${orgB}/gateway/upstream`, {
          name: 'Local vLLM',
          kind: 'openai',
          baseUrl: up.url,
        })
      ).status,
      200,
    );
    const ok = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keyB}` },
      body: JSON.stringify({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(ok.status, 200);
    assert.equal(
      ((await ok.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content,
      'echo: hi',
    );
    const seen = up.seen.at(-1)!;
    assert.equal(seen.path, '/v1/chat/completions');
    assert.equal(seen.body.store, false);
    assert.equal(seen.headers.authorization, undefined, 'no credential configured, none sent');
    const translated = await sdk(keyB).messages.create({
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    });
    assert.deepEqual(translated.content, [{ type: 'text', text: 'echo: x' }]);
    assert.equal(up.seen.at(-1)?.path, '/v1/chat/completions');
  });

  test('cross-organization: a key works only for its own organization; gateway keys are not API tokens', async () => {
    await assert.rejects(
      sdk(keyA, { 'x-palisade-org': orgB }).messages.create({
        model: 'm',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => e instanceof Anthropic.NotFoundError,
    );
    // B's key reaches B's provider (OpenAI-shaped), never A's Anthropic provider or A's credential.
    const before = up.seen.length;
    await assert.rejects(
      sdk(keyB, { 'x-palisade-org': orgA }).messages.create({
        model: 'm',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (e: unknown) => e instanceof Anthropic.NotFoundError,
    );
    assert.equal(up.seen.length, before);
    // A gateway key on the management API is anonymous there.
    const r = await fetch(`${base}/api/v1/orgs/${orgA}/conversations`, {
      headers: { authorization: `Bearer ${keyA}` },
    });
    assert.equal(r.status, 401);
    // B's admin cannot list or revoke A's keys.
    const ownerB = await t.login('owner@beta.example');
    const keys = await ownerA.get(`/api/v1/orgs/${orgA}/gateway/keys`);
    assert.equal((await ownerB.delete(`/api/v1/orgs/${orgB}/gateway/keys/${keys.body.data[0].id}`)).status, 404);
  });

  test('admins list every key and revoke one; deprovisioning revokes the rest; revoked keys are refused', async () => {
    const extra = (await memberA.post(`/api/v1/orgs/${orgA}/gateway/keys`, { name: 'ci' })).body;
    const mine = await memberA.get(`/api/v1/orgs/${orgA}/gateway/keys`);
    assert.ok(mine.body.data.every((k: { userId: string }) => k.userId === memberAUserId));
    const all = await ownerA.get(`/api/v1/orgs/${orgA}/gateway/keys`);
    assert.ok(all.body.data.some((k: { id: string }) => k.id === extra.gatewayKey.id));
    assert.ok(
      !all.raw.body.includes('pls_gwk_') || all.body.data.every((k: { prefix: string }) => k.prefix.length < 20),
    );
    const rev = await ownerA.delete(`/api/v1/orgs/${orgA}/gateway/keys/${extra.gatewayKey.id}`);
    assert.equal(rev.status, 200);
    assert.ok(rev.body.revokedAt);
    await assert.rejects(
      sdk(extra.key).messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof Anthropic.AuthenticationError,
    );
    const n = await revokeAllCredentials(t.db.database.db, t.clock.now(), memberAUserId);
    assert.equal(n.gatewayKeys, 1);
    await assert.rejects(
      sdk(keyA).messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof Anthropic.AuthenticationError,
    );
    const revoked = await t.db.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('org_id', '=', orgA)
      .where('action', '=', 'gateway_key.revoked')
      .execute();
    assert.equal(revoked.length, 1);
  });

  test('removing a member revokes their gateway keys for that organization: re-inviting them does not revive a key', async () => {
    const { agent, memberId } = await t.addMember(ownerA, orgA, 'leaver@alpha.example', 'member');
    const k = (await agent.post(`/api/v1/orgs/${orgA}/gateway/keys`, { name: 'leaver' })).body.key as string;
    assert.ok(
      await sdk(k).messages.create({ model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    );
    assert.equal((await ownerA.delete(`/api/v1/orgs/${orgA}/members/${memberId}`)).status, 204);
    await t.addMember(ownerA, orgA, 'leaver@alpha.example', 'member');
    await assert.rejects(
      sdk(k).messages.create({ model: 'claude-test', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof Anthropic.AuthenticationError,
    );
  });
});
