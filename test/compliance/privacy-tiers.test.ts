import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type World, buildWorld, chat, eventsOf } from './world.js';

/**
 * Privacy tiers for prompts in the audit log: metadata only by default; an organization's primary
 * owner may opt in to excerpts, which child organizations inherit unless they choose otherwise.
 */
describe('prompt content in audit events', () => {
  let w: World;
  before(async () => (w = await buildWorld()));
  after(() => w.close());

  const lastMessageEvent = async (orgId: string) => (await eventsOf(w.t, orgId, 'conversation.message_sent')).pop();

  test('by default an event about a prompt carries sizes, model and token counts, never the text', async () => {
    const e = await lastMessageEvent(w.alpha.orgId);
    assert.equal(e?.metadata.promptBytes, Buffer.byteLength('Cid asks about the budget'));
    assert.equal(typeof e?.metadata.inputTokens, 'number');
    assert.equal(e?.metadata.promptExcerpt, undefined);
    assert.ok(!JSON.stringify(e).includes('budget'));
    const settings = await w.root.owner.get(`/api/v1/orgs/${w.alpha.orgId}/audit-settings/content`);
    assert.deepEqual(settings.body, {
      tier: 'metadata',
      promptExcerptChars: null,
      source: 'default',
      sourceOrgId: null,
    });
  });

  test('only a primary owner opts in; the refusal changes nothing', async () => {
    const admin = await w.t.addMember(w.root.owner, w.root.orgId, 'admin2@root.example', 'admin');
    const res = await admin.agent.request('PUT', `/api/v1/orgs/${w.root.orgId}/audit-settings/content`, {
      promptExcerptChars: 20,
    });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'missing_permission_audit_content_manage');
    assert.equal((await w.root.owner.get(`/api/v1/orgs/${w.root.orgId}/audit-settings/content`)).body.tier, 'metadata');
    assert.equal((await eventsOf(w.t, w.root.orgId, 'audit.content_tier_changed')).length, 0);
    const empty = await w.root.owner.request('PUT', `/api/v1/orgs/${w.root.orgId}/audit-settings/content`, {});
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error.code, 'content_tier_required');
  });

  test('an opt-in on the parent gives excerpts in its units, for workspace prompts and gateway requests; a unit may go back to metadata', async () => {
    const set = await w.root.owner.request('PUT', `/api/v1/orgs/${w.root.orgId}/audit-settings/content`, {
      promptExcerptChars: 12,
    });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, {
      tier: 'excerpts',
      promptExcerptChars: 12,
      source: 'organization',
      sourceOrgId: w.root.orgId,
    });
    const changed = (await eventsOf(w.t, w.root.orgId, 'audit.content_tier_changed')).pop();
    assert.deepEqual(changed?.metadata, {
      from: { tier: 'metadata', promptExcerptChars: null },
      to: { tier: 'excerpts', promptExcerptChars: 12 },
      source: 'organization',
    });
    assert.deepEqual((await w.root.owner.get(`/api/v1/orgs/${w.alpha.orgId}/audit-settings/content`)).body, {
      tier: 'excerpts',
      promptExcerptChars: 12,
      source: 'inherited',
      sourceOrgId: w.root.orgId,
    });

    await chat(w.ann.agent, w.alpha.orgId, 'x', ['Quarterly numbers are 🎉 great and secret']);
    const e = await lastMessageEvent(w.alpha.orgId);
    assert.equal(e?.metadata.promptExcerpt, 'Quarterly nu');
    assert.equal(e?.metadata.promptExcerptTruncated, true);

    const gk = (await w.bea.agent.post(`/api/v1/orgs/${w.beta.orgId}/gateway/keys`, { name: 'k' })).body.key as string;
    const r = await w.t.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { 'x-api-key': gk, 'content-type': 'application/json' },
      payload: { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'text', text: 'short' }] }] },
    });
    assert.equal(r.statusCode, 200);
    const g = (await eventsOf(w.t, w.beta.orgId, 'gateway.request_handled')).pop();
    assert.deepEqual([g?.metadata.promptExcerpt, g?.metadata.promptExcerptTruncated], ['short', false]);

    // Excerpts count characters, not bytes: an emoji is never cut in half.
    await w.root.owner.request('PUT', `/api/v1/orgs/${w.alpha.orgId}/audit-settings/content`, {
      promptExcerptChars: 3,
    });
    await chat(w.ann.agent, w.alpha.orgId, 'y', ['🎉🎉🎉🎉']);
    assert.equal((await lastMessageEvent(w.alpha.orgId))?.metadata.promptExcerpt, '🎉🎉🎉');

    // Alpha goes back to metadata only while the parent keeps excerpts.
    await w.root.owner.request('PUT', `/api/v1/orgs/${w.alpha.orgId}/audit-settings/content`, {
      promptExcerptChars: null,
    });
    await chat(w.ann.agent, w.alpha.orgId, 'z', ['back to private']);
    const last = await lastMessageEvent(w.alpha.orgId);
    assert.equal(last?.metadata.promptExcerpt, undefined);
    assert.ok(!JSON.stringify(last).includes('private'));
    const inherit = await w.root.owner.request('PUT', `/api/v1/orgs/${w.alpha.orgId}/audit-settings/content`, {
      inherit: true,
    });
    assert.equal(inherit.body.source, 'inherited');
    // Uploads stay metadata only in every tier.
    const up = (await eventsOf(w.t, w.alpha.orgId, 'file.uploaded')).pop();
    assert.equal(up?.metadata.promptExcerpt, undefined);
  });
});
