import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deliverDueNotifications } from '../../src/notifications/deliver.js';
import { notificationPass } from '../../src/notifications/jobs.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { Receiver, verifySignature } from './receivers.js';

/**
 * Slack-, Teams- and webhook channels against local HTTP receivers (stand-ins: no Slack or Teams
 * server runs here; the bodies are checked against their documented shapes), routing inherited by
 * a child organization, the outbound policy, an outage, and the dead-letter list.
 */
describe('notification channels: Slack, Teams and signed webhooks', () => {
  let t: TestApp;
  let org: { orgId: string; owner: Agent };
  let childId = '';
  const slack = new Receiver();
  const teams = new Receiver();
  const hook = new Receiver();
  const ids = { slack: '', teams: '', hook: '' };
  let signingSecret = '';
  const audit = async (action: string) =>
    (await org.owner.get(`/api/v1/orgs/${org.orgId}/audit-events?action=${action}`)).body.data;
  const newKey = async (orgId: string, name: string) =>
    assert.equal((await org.owner.post(`/api/v1/orgs/${orgId}/gateway/keys`, { name })).status, 201);

  before(async () => {
    for (const r of [slack, teams, hook]) await r.start();
    t = await createTestApp({ notificationWebhooksAllowHttp: true });
    org = await t.seedOrg('Hooks Co', 'owner@hooks.test');
    childId = (await org.owner.post(`/api/v1/orgs/${org.orgId}/children`, { name: 'Hooks Child' })).body.id;
    await notificationPass(t.system);
  });
  after(async () => {
    await t.close();
    for (const r of [slack, teams, hook]) await r.stop();
  });

  test('channels are created with their URLs sealed at rest; only the host is shown; the signing secret is shown once', async () => {
    const s = await org.owner.post(`/api/v1/orgs/${org.orgId}/notifications/channels`, {
      name: 'Slack #sec',
      kind: 'slack',
      url: `${slack.url}/services/T000/B000/SECRETPATH`,
    });
    assert.equal(s.status, 201, s.raw.body);
    assert.deepEqual(
      [s.body.channel.kind, s.body.channel.target, s.body.signingSecret],
      ['slack', slack.url, undefined],
    );
    ids.slack = s.body.channel.id;
    ids.teams = (
      await org.owner.post(`/api/v1/orgs/${org.orgId}/notifications/channels`, {
        name: 'Teams',
        kind: 'teams',
        url: `${teams.url}/webhookb2/TEAMSPATH`,
      })
    ).body.channel.id;
    const h = await org.owner.post(`/api/v1/orgs/${org.orgId}/notifications/channels`, {
      name: 'SOAR',
      kind: 'webhook',
      url: `${hook.url}/palisade`,
    });
    assert.equal(h.status, 201, h.raw.body);
    signingSecret = h.body.signingSecret;
    assert.match(signingSecret, /^pls_nwh_[A-Za-z0-9_-]{43}$/);
    ids.hook = h.body.channel.id;
    const rows = await t.db.database.db.selectFrom('notification_channels').selectAll().execute();
    for (const r of rows)
      assert.ok(
        r.secret_ct &&
          !r.secret_ct.includes('SECRETPATH') &&
          !r.secret_ct.includes('TEAMSPATH') &&
          !Buffer.from(r.secret_ct, 'base64').toString('latin1').includes('SECRETPATH'),
        'sealed at rest',
      );
    const listed = await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications/channels`);
    assert.ok(!listed.raw.body.includes('SECRETPATH') && !listed.raw.body.includes(signingSecret), 'never shown again');
    const created = await audit('notification_channel.created');
    assert.equal(created.length, 3);
    assert.ok(!JSON.stringify(created).includes('SECRETPATH'), 'the audit log has the host only');
  });

  test('the outbound policy applies: a cloud metadata address is refused when the channel is created', async () => {
    const before = (await t.db.database.db.selectFrom('notification_channels').select('id').execute()).length;
    const r = await org.owner.post(`/api/v1/orgs/${org.orgId}/notifications/channels`, {
      name: 'Metadata',
      kind: 'webhook',
      url: 'http://169.254.169.254/latest/meta-data',
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'destination_address_denied');
    assert.match(r.body.error.message, /cloud metadata service address/);
    assert.equal(
      (await t.db.database.db.selectFrom('notification_channels').select('id').execute()).length,
      before,
      'no channel',
    );
    assert.equal((await audit('notification_channel.created')).length, 3, 'no audit event');
    const plain = await org.owner.post(`/api/v1/orgs/${org.orgId}/notifications/channels`, {
      name: 'No URL',
      kind: 'slack',
    });
    assert.deepEqual([plain.status, plain.body.error.code], [400, 'notification_channel_url_required']);
  });

  test("routing: the parent's routes cover its child; unknown types and another organization's channels are refused", async () => {
    const bad = await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/notifications/routing`, {
      routes: [{ type: 'domain.exploded', channelId: ids.slack }],
    });
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'notification_type_unknown']);
    const other = await t.seedOrg('Other Co', 'owner@other.test');
    const theirs = (
      await other.owner.post(`/api/v1/orgs/${other.orgId}/notifications/channels`, { name: 'Theirs', kind: 'email' })
    ).body.channel.id;
    const foreign = await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/notifications/routing`, {
      routes: [{ type: 'key.created', channelId: theirs }],
    });
    assert.deepEqual([foreign.status, foreign.body.error.code], [400, 'notification_channel_unknown']);
    assert.ok(!foreign.raw.body.includes('Theirs'));
    assert.equal((await audit('notification_routing.updated')).length, 0, 'nothing changed');
    const ok = await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/notifications/routing`, {
      routes: [
        { type: 'key.created', channelId: ids.slack },
        { type: 'key.created', channelId: ids.teams },
        { type: '*', channelId: ids.hook, minSeverity: 'info' },
      ],
    });
    assert.equal(ok.status, 200, ok.raw.body);
    assert.equal(ok.body.routes.length, 3);
    const inherited = await org.owner.get(`/api/v1/orgs/${childId}/notifications/routing`);
    assert.deepEqual([inherited.body.routes.length, inherited.body.inherited.length], [0, 3]);
    const [event] = await audit('notification_routing.updated');
    assert.equal(event.metadata.after.length, 3);
    assert.deepEqual(event.metadata.before, []);

    await newKey(childId, 'child robot');
    await notificationPass(t.system);
    const child = (await org.owner.get(`/api/v1/orgs/${childId}/notifications?type=key.created`)).body.data;
    assert.equal(child.length, 1);
    assert.deepEqual(
      child[0].deliveries.map((d: { channelId: string; status: string }) => [d.channelId, d.status]).sort(),
      [
        [ids.hook, 'sent'],
        [ids.slack, 'sent'],
        [ids.teams, 'sent'],
      ].sort(),
    );
  });

  test("Slack and Teams receive their documented payload shapes; the webhook's HMAC verifies as a receiver would", () => {
    const s = slack.received.at(-1)!;
    assert.equal(s.path, '/services/T000/B000/SECRETPATH');
    assert.equal(s.headers['content-type'], 'application/json');
    const body = s.json;
    assert.equal(typeof body.text, 'string');
    assert.match(body.text, /^Problem: New gateway key "child robot" created by owner@hooks\.test$/);
    assert.ok(Array.isArray(body.blocks) && body.blocks.length <= 50);
    const [header, fix, facts] = body.blocks;
    const context = body.blocks.at(-1);
    assert.deepEqual([header.type, header.text.type], ['header', 'plain_text']);
    assert.ok(header.text.text.length <= 150);
    assert.deepEqual([fix.type, fix.text.type], ['section', 'mrkdwn']);
    assert.match(fix.text.text, /^\*What to do:\* If you do not recognise this gateway key, revoke it now/);
    assert.equal(facts.type, 'section');
    assert.ok(facts.fields.length >= 1 && facts.fields.length <= 10);
    for (const f of facts.fields) assert.ok(f.type === 'mrkdwn' && f.text.length <= 2000);
    assert.ok(facts.fields.some((f: { text: string }) => f.text === '*name*\nchild robot'));
    assert.equal(context.type, 'context');
    for (const b of body.blocks) assert.ok(['header', 'section', 'actions', 'context', 'divider'].includes(b.type));

    const tm = teams.received.at(-1)!.json;
    assert.equal(tm.type, 'message');
    assert.equal(tm.attachments.length, 1);
    const card = tm.attachments[0];
    assert.equal(card.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(card.contentUrl, null);
    assert.deepEqual(
      [card.content.type, card.content.version, card.content.$schema],
      ['AdaptiveCard', '1.4', 'http://adaptivecards.io/schemas/adaptive-card.json'],
    );
    assert.equal(card.content.body[0].type, 'TextBlock');
    assert.match(card.content.body[0].text, /New gateway key "child robot"/);
    const factSet = card.content.body.find((b: { type: string }) => b.type === 'FactSet');
    assert.ok(
      factSet.facts.every(
        (f: { title: unknown; value: unknown }) => typeof f.title === 'string' && typeof f.value === 'string',
      ),
    );

    const h = hook.received.at(-1)!;
    const now = Math.floor(t.clock.now().getTime() / 1000);
    assert.ok(
      verifySignature(signingSecret, h.headers['palisade-signature'] as string, h.raw, now),
      'the signature verifies over the raw body',
    );
    assert.ok(
      !verifySignature(
        signingSecret,
        h.headers['palisade-signature'] as string,
        h.raw.replace('child robot', 'child r0bot'),
        now,
      ),
      'a changed body fails',
    );
    assert.ok(
      !verifySignature('pls_nwh_wrong', h.headers['palisade-signature'] as string, h.raw, now),
      'another secret fails',
    );
    assert.ok(
      !verifySignature(signingSecret, h.headers['palisade-signature'] as string, h.raw, now + 301),
      'a replay after 5 minutes fails',
    );
    assert.deepEqual(
      [h.json.type, h.json.phase, h.json.severity, h.json.organizationId, h.json.facts.name],
      ['key.created', 'alert', 'info', childId, 'child robot'],
    );
    assert.match(h.headers['palisade-delivery'] as string, /^ndl_/);
    assert.equal(h.headers['palisade-notification'], h.json.id);
  });

  test('an outage of a channel loses nothing and sends nothing twice after recovery', async () => {
    const seenBefore = hook.received.length;
    await hook.stop();
    for (const n of ['k1', 'k2', 'k3']) await newKey(org.orgId, n);
    await notificationPass(t.system);
    const waiting = (
      await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications/deliveries?status=queued`)
    ).body.data.filter((d: { channelId: string }) => d.channelId === ids.hook);
    assert.equal(waiting.length, 3);
    for (const d of waiting) {
      assert.equal(d.attempts, 1);
      assert.match(d.lastError, /could not be reached: .*ECONNREFUSED.*is it running\? Delivery is retried\./);
    }
    const metrics = await t.anonymous().get('/metrics');
    assert.match(metrics.raw.body, /palisade_notifications_pending\{channel="webhook"\} 3/);
    assert.match(metrics.raw.body, /palisade_notifications_retrying\{channel="webhook"\} 3/);
    // Not due again before the backoff.
    assert.deepEqual(await deliverDueNotifications(t.system), { sent: 0, retried: 0, dead: 0 });
    await hook.start();
    t.clock.advance(31_000);
    // Two processes deliver at once: each delivery is leased by one of them.
    const [a, b] = await Promise.all([
      deliverDueNotifications(t.system, 'process-a'),
      deliverDueNotifications(t.system, 'process-b'),
    ]);
    assert.equal(a.sent + b.sent, 3);
    assert.deepEqual(await deliverDueNotifications(t.system), { sent: 0, retried: 0, dead: 0 });
    const got = hook.received.slice(seenBefore);
    assert.deepEqual(got.map((r) => r.json.facts.name).sort(), ['k1', 'k2', 'k3'], 'each once');
    assert.equal(new Set(got.map((r) => r.headers['palisade-delivery'])).size, 3);
    assert.match(
      (await t.anonymous().get('/metrics')).raw.body,
      /palisade_notifications_pending\{channel="webhook"\} 0/,
    );
  });

  test('a receiver that refuses for good is dead-lettered, listed with the reason, and can be retried', async () => {
    teams.status = 404;
    teams.answer = 'no_service';
    await newKey(org.orgId, 'k4');
    await notificationPass(t.system);
    const dead = await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications/deliveries?status=dead`);
    assert.equal(dead.body.data.length, 1);
    const d = dead.body.data[0];
    assert.deepEqual([d.channelId, d.attempts, d.responseStatus], [ids.teams, 1, 404]);
    assert.equal(d.lastError, `teams receiver ${teams.url} answered HTTP 404: no_service`);
    assert.equal((await audit('notification.dead_lettered')).length, 1);
    assert.match((await t.anonymous().get('/metrics')).raw.body, /palisade_notifications_failed\{channel="teams"\} 1/);
    const notDead = await org.owner.post(
      `/api/v1/orgs/${org.orgId}/notifications/deliveries/${(await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications/deliveries?status=sent`)).body.data[0].id}/retry`,
    );
    assert.deepEqual([notDead.status, notDead.body.error.code], [409, 'notification_delivery_not_dead']);
    teams.status = 200;
    const retried = await org.owner.post(`/api/v1/orgs/${org.orgId}/notifications/deliveries/${d.id}/retry`);
    assert.equal(retried.status, 200, retried.raw.body);
    assert.equal(retried.body.status, 'queued');
    await notificationPass(t.system);
    assert.match(teams.received.at(-1)!.raw, /k4/);
    assert.equal((await audit('notification.retried')).length, 1);
    assert.deepEqual(
      (await org.owner.get(`/api/v1/orgs/${org.orgId}/notifications/deliveries?status=dead`)).body.data,
      [],
    );
  });

  test('names people chose cannot ping a whole Slack channel: <, > and & are escaped in mrkdwn', async () => {
    await newKey(org.orgId, '<!channel> & friends');
    await notificationPass(t.system);
    const body = slack.received.at(-1)!.json;
    assert.ok(body.text.includes('&lt;!channel&gt; &amp; friends'), body.text);
    assert.ok(
      !slack.received.at(-1)!.raw.includes('<!channel>'.replace('<', '\\u003c')) && !body.text.includes('<!channel>'),
    );
    assert.ok(body.blocks[2].fields.some((f: { text: string }) => f.text === '*name*\n&lt;!channel&gt; &amp; friends'));
  });

  test('every notifications route is in the OpenAPI document with an operationId, a summary and a success schema', async () => {
    const doc = (await t.anonymous().get('/openapi.json')).body as {
      paths: Record<
        string,
        Record<string, { operationId?: string; summary?: string; responses?: Record<string, { content?: unknown }> }>
      >;
    };
    const routes = t.app.routeTable.filter((r) => r.url.startsWith('/api/v1/orgs/:orgId/notifications'));
    assert.ok(routes.length >= 12);
    for (const r of routes) {
      const op = doc.paths[r.url.replace(/:([A-Za-z]+)/g, '{$1}')]?.[r.method.toLowerCase()];
      assert.ok(op?.operationId && op.summary, `${r.method} ${r.url}`);
      const ok = Object.entries(op.responses ?? {}).find(([s]) => s.startsWith('2'));
      assert.ok(ok && (ok[0] === '204' || ok[1].content), `${r.method} ${r.url} has a success schema`);
    }
  });

  test('a member cannot read or change notifications', async () => {
    const { agent } = await t.addMember(org.owner, org.orgId, 'member@hooks.test', 'member');
    const r = await agent.get(`/api/v1/orgs/${org.orgId}/notifications/channels`);
    assert.deepEqual([r.status, r.body.error.code], [403, 'missing_permission_notifications_manage']);
  });
});
