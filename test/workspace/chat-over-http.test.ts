import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';

/**
 * The workspace chat over a real socket (not app.inject): the request body is read, then the
 * handler calls the model over HTTP. Node 20 emits the request's 'close' as soon as the body has
 * been read, so an abort tied to it cancelled every call before it left.
 */
describe('workspace chat over real HTTP to a real upstream stand-in', () => {
  let t: TestApp;
  let up: ModelUpstream;
  let base: string;
  let orgId: string;
  let cookie: string;
  let csrf: string;
  before(async () => {
    up = await startModelUpstream();
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const seeded = await t.seedOrg('Acme', 'owner@acme.example');
    orgId = seeded.orgId;
    assert.equal(
      (
        await seeded.owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
          name: 'loop',
          kind: 'anthropic',
          baseUrl: up.url,
        })
      ).status,
      200,
    );
    cookie = seeded.owner.cookie as string;
    csrf = seeded.owner.csrf as string;
  });
  after(async () => {
    t.app.server.closeAllConnections();
    await t.close();
    await up.close();
  });

  const call = (path: string, body: unknown, signal?: AbortSignal) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });

  test('a message sent over a real connection reaches the upstream and both turns come back and are kept', async () => {
    const conv = await call(`/api/v1/orgs/${orgId}/conversations`, { title: 'Plans' });
    assert.equal(conv.status, 201);
    const { id } = (await conv.json()) as { id: string };
    const before = up.seen.length;
    const res = await call(`/api/v1/orgs/${orgId}/conversations/${id}/messages`, {
      content: 'Summarise the launch plan',
      model: 'claude-test',
    });
    const body = (await res.json()) as { messages: { role: string; content: string }[]; retained: boolean };
    assert.equal(res.status, 201, JSON.stringify(body));
    assert.equal(up.seen.length, before + 1, 'the upstream received the prompt');
    assert.deepEqual(up.seen.at(-1)?.body.messages, [{ role: 'user', content: 'Summarise the launch plan' }]);
    assert.deepEqual(
      body.messages.map((m) => [m.role, m.content]),
      [
        ['user', 'Summarise the launch plan'],
        ['assistant', 'echo: Summarise the launch plan'],
      ],
    );
    assert.equal(body.retained, true);
    const read = await fetch(`${base}/api/v1/orgs/${orgId}/conversations/${id}`, { headers: { cookie } });
    const stored = (await read.json()) as { messages: { content: string }[] };
    assert.deepEqual(
      stored.messages.map((m) => m.content),
      ['Summarise the launch plan', 'echo: Summarise the launch plan'],
    );
  });

  test('a provider rate limit answers 429 with when to retry, and nothing is stored', async () => {
    const conv = await call(`/api/v1/orgs/${orgId}/conversations`, { title: 'Busy' });
    const { id } = (await conv.json()) as { id: string };
    const res = await call(`/api/v1/orgs/${orgId}/conversations/${id}/messages`, {
      content: 'are you busy',
      model: 'rate-limited',
    });
    const body = (await res.json()) as {
      error: { code: string; message: string; details: { retryAfterSeconds: number } };
    };
    assert.equal(res.status, 429);
    assert.equal(body.error.code, 'upstream_rate_limited');
    assert.match(body.error.message, /try again in 1 second/);
    assert.equal(body.error.details.retryAfterSeconds, 1);
    assert.equal(
      (await t.db.database.db.selectFrom('workspace_messages').select('id').where('conversation_id', '=', id).execute())
        .length,
      0,
    );
  });

  test('a client that goes away while the model is answering cancels the upstream call and nothing is stored', async () => {
    const conv = await call(`/api/v1/orgs/${orgId}/conversations`, { title: 'Slow' });
    const { id } = (await conv.json()) as { id: string };
    const client = new AbortController();
    const pending = call(
      `/api/v1/orgs/${orgId}/conversations/${id}/messages`,
      { content: 'take your time', model: 'hold-json' },
      client.signal,
    );
    await up.holding;
    client.abort();
    await assert.rejects(pending, (e: unknown) => (e as Error).name === 'AbortError');
    await up.cancelled;
    // The handler finishes after the upstream call fails; give it a moment, then nothing was kept.
    for (let i = 0; i < 50; i++) {
      const ev = await t.db.database.db
        .selectFrom('audit_events')
        .select('action')
        .where('org_id', '=', orgId)
        .where('action', '=', 'conversation.message_sent')
        .execute();
      if (ev.length === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const msgs = await t.db.database.db
      .selectFrom('workspace_messages')
      .select('id')
      .where('conversation_id', '=', id)
      .execute();
    assert.equal(msgs.length, 0);
    const sent = await t.db.database.db
      .selectFrom('audit_events')
      .select('action')
      .where('org_id', '=', orgId)
      .where('action', '=', 'conversation.message_sent')
      .execute();
    assert.equal(sent.length, 1, 'only the first test sent a message');
  });
});
