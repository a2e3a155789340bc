import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { migrateTo, migrateToLatest } from '../../src/db/migrate.js';
import type { Agent } from '../helpers/harness.js';
import { openTestDatabase } from '../helpers/db.js';
import { type World, buildWorld, chat, createKey, keyClient } from './world.js';

type Row = {
  starting_at: string;
  ending_at: string;
  organization_id: string;
  user_id: string;
  email_address: string;
  model: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
};

/** The same figures, summed independently from the audit events of the requests (each carries its model and token counts). */
async function fromAudit(w: World, width: 10 | 13): Promise<Map<string, [number, number, number]>> {
  const rows = await w.t.db.database.db
    .selectFrom('audit_events')
    .select(['org_id', 'actor_id', 'occurred_at', 'action', 'metadata'])
    .where('action', 'in', ['conversation.message_sent', 'gateway.request', 'gateway.request_handled'])
    .execute();
  const out = new Map<string, [number, number, number]>();
  for (const r of rows) {
    const m = JSON.parse(r.metadata) as {
      model: string;
      inputTokens: number;
      outputTokens: number;
      upstreamStatus?: number;
    };
    if (r.action !== 'conversation.message_sent' && (m.upstreamStatus ?? 500) >= 400) continue;
    const k = `${r.occurred_at.slice(0, width)}|${r.org_id}|${r.actor_id}|${m.model}`;
    const v = out.get(k) ?? [0, 0, 0];
    out.set(k, [v[0] + 1, v[1] + m.inputTokens, v[2] + m.outputTokens]);
  }
  return out;
}

const asMap = (rows: Row[], width: 10 | 13) =>
  new Map(
    rows.map((r) => [
      `${r.starting_at.slice(0, width)}|${r.organization_id}|${r.user_id}|${r.model}`,
      [r.requests, r.input_tokens, r.output_tokens] as [number, number, number],
    ]),
  );

describe('usage reports', () => {
  let w: World;
  let key: Agent;
  let day0: string;
  before(async () => {
    // 12:30 today (UTC), whatever time the test runs: the hour later below stays on the same day
    // (from 23:00 UTC it crossed midnight, and days then split as finely as hours), and no request
    // falls on the first instant of an hour, where the current bucket would be empty.
    w = await buildWorld({}, `${new Date().toISOString().slice(0, 10)}T12:30:00.000Z`);
    key = keyClient(w.t, (await createKey(w.root.owner, w.root.orgId, { scopes: ['read:compliance_usage'] })).secret);
    day0 = w.t.clock.now().toISOString().slice(0, 10);
    // Ann chats an hour later; Bea calls the gateway with a key, twice in one hour, and the next day.
    w.t.clock.advance(3_600_000);
    await chat(w.ann.agent, w.alpha.orgId, 'later', ['an hour later, a longer prompt']);
    const gk = (await w.bea.agent.post(`/api/v1/orgs/${w.beta.orgId}/gateway/keys`, { name: 'laptop' })).body
      .key as string;
    for (const [model, text] of [
      ['claude-haiku', 'first'],
      ['claude-haiku', 'second request'],
    ] as const) {
      const r = await w.t.app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { 'x-api-key': gk, 'content-type': 'application/json' },
        payload: { model, max_tokens: 50, messages: [{ role: 'user', content: text }] },
      });
      assert.equal(r.statusCode, 200, r.body);
    }
    w.t.clock.advance(86_400_000);
    const r = await w.t.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { 'x-api-key': gk, 'content-type': 'application/json' },
      payload: { model: 'claude-opus', max_tokens: 50, messages: [{ role: 'user', content: 'next day' }] },
    });
    assert.equal(r.statusCode, 200, r.body);
  });
  after(() => w.close());

  test('per user, model and day, and per hour, agree with the requests themselves', async () => {
    const daily = await key.get(`/v1/compliance/usage?starting_at=${day0}T00:00:00Z`);
    assert.equal(daily.status, 200, daily.raw.body);
    assert.deepEqual(asMap(daily.body.data, 10), await fromAudit(w, 10));
    assert.equal(daily.body.has_more, false);
    const hourly = await key.get(`/v1/compliance/usage?bucket_width=1h&starting_at=${day0}T00:00:00Z`);
    assert.deepEqual(asMap(hourly.body.data, 13), await fromAudit(w, 13));
    assert.ok(hourly.body.data.length > daily.body.data.length, 'hours split what days add up');
    const bea = hourly.body.data.filter((r: Row) => r.user_id === w.bea.userId);
    assert.deepEqual(
      bea.map((r: Row) => [r.model, r.requests, Date.parse(r.ending_at) - Date.parse(r.starting_at)]),
      [
        ['claude-sonnet-4-5', 1, 3_600_000],
        ['claude-haiku', 2, 3_600_000],
        ['claude-opus', 1, 3_600_000],
      ],
    );
    assert.equal(bea[0].email_address, 'bea@root.example');
  });

  test('filters by user, model and organization; the range end is exclusive; pages chain to the whole report', async () => {
    const get = async (q: string) =>
      (await key.get(`/v1/compliance/usage?starting_at=${day0}T00:00:00Z&${q}`)).body.data as Row[];
    assert.ok((await get(`user_ids[]=${w.ann.userId}`)).every((r) => r.user_id === w.ann.userId));
    assert.deepEqual(
      (await get('models[]=claude-opus')).map((r) => r.user_id),
      [w.bea.userId],
    );
    assert.ok((await get(`organization_ids[]=${w.beta.orgId}`)).every((r) => r.organization_id === w.beta.orgId));
    const nextDay = new Date(Date.parse(`${day0}T00:00:00Z`) + 86_400_000).toISOString();
    const firstDayOnly = await key.get(`/v1/compliance/usage?starting_at=${day0}T00:00:00Z&ending_at=${nextDay}`);
    assert.ok(
      firstDayOnly.body.data.length > 0 && firstDayOnly.body.data.every((r: Row) => r.starting_at.startsWith(day0)),
    );
    const all = await get('bucket_width=1h');
    const chained: Row[] = [];
    let page: string | null = null;
    do {
      const res: { body: { data: Row[]; next_page: string | null } } = await key.get(
        `/v1/compliance/usage?starting_at=${day0}T00:00:00Z&bucket_width=1h&limit=2${page ? `&page=${page}` : ''}`,
      );
      chained.push(...res.body.data);
      page = res.body.next_page;
    } while (page);
    assert.deepEqual(chained, all);
  });

  test('CSV carries the same rows as JSON, streamed as one download', async () => {
    const json = (await key.get(`/v1/compliance/usage?starting_at=${day0}T00:00:00Z&bucket_width=1h&limit=10000`)).body
      .data as Row[];
    const csv = await key.get(`/v1/compliance/usage?starting_at=${day0}T00:00:00Z&bucket_width=1h&format=csv`);
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /attachment; filename="palisade-usage\.csv"/);
    const records = parse(csv.raw.body, { columns: true }) as Record<string, string>[];
    assert.deepEqual(
      records.map((r) => ({
        ...r,
        email_address: r.email_address || null,
        requests: Number(r.requests),
        input_tokens: Number(r.input_tokens),
        output_tokens: Number(r.output_tokens),
      })),
      json,
    );
  });

  test('a bad range is refused before anything streams', async () => {
    for (const [q, code] of [
      ['starting_at=soon', 'invalid_time'],
      ['starting_at=2026-02-01T00:00:00Z&ending_at=2026-01-01T00:00:00Z', 'invalid_time_range'],
      ['bucket_width=1m', 'invalid_request'],
    ] as const) {
      const res = await key.get(`/v1/compliance/usage?format=csv&${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.error.code, code);
    }
  });
});

describe('hourly usage for the past', () => {
  test('the migration back-fills hours from the audit events still held', async () => {
    const db = await openTestDatabase({ migrate: false });
    try {
      await migrateTo(db.database, '0014_account_security');
      const at = '2026-03-04T05:06:07.000Z';
      const k = db.database.db;
      await k
        .insertInto('organizations')
        .values({
          id: 'org_1',
          parent_id: null,
          name: 'O',
          billing_email: null,
          status: 'active',
          created_at: at,
          updated_at: at,
          deleted_at: null,
        })
        .execute();
      const event = (
        id: string,
        seq: number,
        action: string,
        occurredAt: string,
        metadata: Record<string, unknown>,
      ) => ({
        id,
        org_id: 'org_1',
        seq,
        occurred_at: occurredAt,
        actor_type: 'user',
        actor_id: 'usr_1',
        actor_email: 'a@x',
        actor_ip: null,
        actor_user_agent: null,
        action,
        targets: '[]',
        outcome: 'success' as const,
        metadata: JSON.stringify(metadata),
        request_id: null,
        prev_hash: '0',
        hash: '1',
      });
      await k
        .insertInto('audit_events')
        .values([
          event('evt_1', 1, 'gateway.request', at, {
            model: 'm1',
            inputTokens: 10,
            outputTokens: 5,
            upstreamStatus: 200,
          }),
          event('evt_2', 2, 'gateway.request', '2026-03-04T05:59:00.000Z', {
            model: 'm1',
            inputTokens: 1,
            outputTokens: 1,
            upstreamStatus: 200,
          }),
          event('evt_3', 3, 'gateway.request', at, {
            model: 'm1',
            inputTokens: 99,
            outputTokens: 99,
            upstreamStatus: 529,
          }),
          event('evt_4', 4, 'conversation.message_sent', '2026-03-04T06:00:00.000Z', {
            model: 'm2',
            inputTokens: 3,
            outputTokens: 4,
          }),
        ])
        .execute();
      await migrateToLatest(db.database);
      const rows = await db.database.db.selectFrom('gateway_usage_hourly').selectAll().orderBy('hour').execute();
      assert.deepEqual(
        rows.map((r) => [
          r.hour,
          r.user_id,
          r.model,
          Number(r.requests),
          Number(r.input_tokens),
          Number(r.output_tokens),
        ]),
        [
          ['2026-03-04T05', 'usr_1', 'm1', 2, 11, 6],
          ['2026-03-04T06', 'usr_1', 'm2', 1, 3, 4],
        ],
      );
    } finally {
      await db.cleanup();
    }
  });
});
