import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type World, buildWorld, createKey, eventsOf, keyClient } from './world.js';

const ALL = [
  'read:compliance_activities',
  'read:compliance_directory',
  'read:compliance_user_data',
  'delete:compliance_user_data',
  'read:compliance_usage',
];

describe('compliance keys', () => {
  let w: World;
  before(async () => (w = await buildWorld({ badTokenMaxPerIp: 5, complianceRateLimitPerMinute: 1000 })));
  after(() => w.close());

  test('a primary owner of the top-level organization creates a key: shown once, stored only as a hash, audited without the secret', async () => {
    const res = await w.root.owner.post(`/api/v1/orgs/${w.root.orgId}/compliance/keys`, {
      name: ' Splunk feed ',
      scopes: ['read:compliance_usage', 'read:compliance_activities'],
      organizationIds: [w.beta.orgId, w.alpha.orgId],
      expiresInDays: 30,
    });
    assert.equal(res.status, 201, res.raw.body);
    const secret = res.body.key as string;
    assert.match(secret, /^pls_cmp_[A-Za-z0-9_-]{43}$/);
    const k = res.body.complianceKey;
    assert.deepEqual(
      { ...k, id: undefined, createdAt: undefined, expiresAt: undefined },
      {
        id: undefined,
        name: 'Splunk feed',
        prefix: secret.slice(0, 14),
        scopes: ['read:compliance_activities', 'read:compliance_usage'],
        organizationIds: [w.alpha.orgId, w.beta.orgId].sort(),
        rateLimitPerMinute: null,
        createdBy: w.root.ownerId,
        createdAt: undefined,
        expiresAt: undefined,
        lastUsedAt: null,
        revokedAt: null,
      },
    );
    assert.equal(Date.parse(k.expiresAt) - Date.parse(k.createdAt), 30 * 86_400_000);
    const row = await w.t.db.database.db
      .selectFrom('compliance_keys')
      .selectAll()
      .where('id', '=', k.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.token_hash, createHash('sha256').update(secret).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(secret.slice(14)), 'the secret is not stored');
    const list = await w.root.owner.get(`/api/v1/orgs/${w.root.orgId}/compliance/keys`);
    assert.ok(!list.raw.body.includes(secret.slice(14)), 'never shown again');
    assert.equal(
      (await w.root.owner.get(`/api/v1/orgs/${w.root.orgId}/compliance/keys/${k.id}`)).body.prefix,
      secret.slice(0, 14),
    );
    const created = (await eventsOf(w.t, w.root.orgId, 'compliance_key.created')).pop();
    assert.equal(created?.actor_id, w.root.ownerId);
    assert.deepEqual(created?.metadata, {
      scopes: ['read:compliance_activities', 'read:compliance_usage'],
      organizationIds: [w.alpha.orgId, w.beta.orgId].sort(),
      expiresAt: k.expiresAt,
      rateLimitPerMinute: null,
    });
    assert.ok(!JSON.stringify(created).includes(secret.slice(14)));
    // Use is visible on the key, at minute granularity.
    assert.equal((await keyClient(w.t, secret).get('/v1/compliance/usage')).status, 200);
    assert.equal(
      (await w.root.owner.get(`/api/v1/orgs/${w.root.orgId}/compliance/keys/${k.id}`)).body.lastUsedAt,
      w.t.clock.now().toISOString(),
    );
  });

  test('only primary owners of a top-level organization, from a session, may manage keys; refusals change nothing', async () => {
    const count = async () => (await w.t.db.database.db.selectFrom('compliance_keys').select('id').execute()).length;
    const before = await count();
    const admin = await w.t.addMember(w.root.owner, w.root.orgId, 'admin@root.example', 'admin');
    const byAdmin = await admin.agent.post(`/api/v1/orgs/${w.root.orgId}/compliance/keys`, { name: 'x', scopes: ALL });
    assert.equal(byAdmin.status, 403);
    assert.equal(byAdmin.body.error.code, 'missing_permission_compliance_keys_manage');
    assert.match(byAdmin.body.error.message, /primary owner of the top-level organization/);
    assert.equal(
      (await admin.agent.get(`/api/v1/orgs/${w.root.orgId}/compliance/keys`)).status,
      403,
      'admins do not list keys either',
    );
    const inChild = await w.root.owner.post(`/api/v1/orgs/${w.alpha.orgId}/compliance/keys`, {
      name: 'x',
      scopes: ALL,
    });
    assert.equal(inChild.status, 403);
    assert.equal(inChild.body.error.code, 'compliance_keys_top_level_only');
    assert.match(inChild.body.error.message, /organizationIds/);
    const byMember = await w.ann.agent.post(`/api/v1/orgs/${w.root.orgId}/compliance/keys`, { name: 'x', scopes: ALL });
    assert.equal(byMember.status, 404, 'a member of a unit is not a member of the parent');
    const pat = await w.root.owner.post('/api/v1/me/tokens', { name: 'automation' });
    const script = keyClient(w.t, pat.body.token);
    const byToken = await script.post(`/api/v1/orgs/${w.root.orgId}/compliance/keys`, { name: 'x', scopes: ALL });
    assert.equal(byToken.status, 403);
    assert.equal(byToken.body.error.code, 'compliance_key_needs_session');
    const foreign = await w.root.owner.post(`/api/v1/orgs/${w.root.orgId}/compliance/keys`, {
      name: 'x',
      scopes: ALL,
      organizationIds: [w.other.orgId],
    });
    assert.equal(foreign.status, 400);
    assert.equal(foreign.body.error.code, 'invalid_organization_ids');
    assert.ok(!foreign.raw.body.includes('Other Corp'));
    for (const bad of [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['write:everything'] },
      { name: 'x', scopes: ALL, expiresInDays: 0 },
      { name: 'x', scopes: ALL, extra: 1 },
    ]) {
      const r = await w.root.owner.post(`/api/v1/orgs/${w.root.orgId}/compliance/keys`, bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.body.error.code, 'invalid_request');
    }
    assert.equal(await count(), before);
    assert.equal((await eventsOf(w.t, w.alpha.orgId, 'compliance_key.created')).length, 0);
  });

  test('revocation takes effect on the very next request, and is audited', async () => {
    const { secret, id } = await createKey(w.root.owner, w.root.orgId, { name: 'to revoke' });
    const c = keyClient(w.t, secret);
    assert.equal((await c.get('/v1/compliance/organizations')).status, 200);
    const revoked = await w.root.owner.delete(`/api/v1/orgs/${w.root.orgId}/compliance/keys/${id}`);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.revokedAt, w.t.clock.now().toISOString());
    const after = await c.get('/v1/compliance/organizations');
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'invalid_compliance_key');
    const e = (await eventsOf(w.t, w.root.orgId, 'compliance_key.revoked')).pop();
    assert.deepEqual([e?.actor_id, e?.targets[0]?.id], [w.root.ownerId, id]);
    // Revoking twice is harmless and records nothing new.
    await w.root.owner.delete(`/api/v1/orgs/${w.root.orgId}/compliance/keys/${id}`);
    assert.equal((await eventsOf(w.t, w.root.orgId, 'compliance_key.revoked')).length, 1);
  });

  test('an expired key stops working', async () => {
    const { secret } = await createKey(w.root.owner, w.root.orgId, { name: 'short', expiresInDays: 1 });
    const c = keyClient(w.t, secret, '198.51.100.50');
    assert.equal((await c.get('/v1/compliance/roles')).status, 200);
    w.t.clock.advance(86_400_000);
    assert.equal((await c.get('/v1/compliance/roles')).body.error.code, 'invalid_compliance_key');
    // (The owner's browser session expired with the day too.)
    w.root.owner = await w.t.login('owner@root.example');
  });

  test('each key has its own rate limit: 429 with Retry-After, other keys unaffected', async () => {
    const slow = keyClient(
      w.t,
      (await createKey(w.root.owner, w.root.orgId, { name: 'slow', rateLimitPerMinute: 3 })).secret,
    );
    const other = keyClient(w.t, (await createKey(w.root.owner, w.root.orgId, { name: 'other' })).secret);
    // The burst lands at the very end of a one-minute window: the case where a fixed window would reopen at once.
    w.t.clock.set(new Date(Math.floor(w.t.clock.now().getTime() / 60_000) * 60_000 + 60_000 + 59_500));
    for (let i = 0; i < 3; i++) assert.equal((await slow.get('/v1/compliance/roles')).status, 200);
    const limited = await slow.get('/v1/compliance/roles');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error.code, 'compliance_rate_limited');
    assert.match(
      limited.body.error.message,
      /slow sent too many requests\. The limit is 3 per 60 seconds; wait \d+ seconds/,
    );
    const wait = Number(limited.headers['retry-after']);
    // A sliding window: the wait depends on where in the minute the burst fell (at most 80 s here).
    assert.ok(wait >= 1 && wait <= 80, String(wait));
    assert.equal(limited.body.error.details.retryAfterSeconds, wait);
    assert.equal((await other.get('/v1/compliance/roles')).status, 200);
    // Retry-After is honest: waiting exactly that long is enough.
    w.t.clock.advance(wait * 1000);
    assert.equal((await slow.get('/v1/compliance/roles')).status, 200);
  });

  test('bad keys are throttled per client network like every other bearer secret', async () => {
    const attacker = keyClient(w.t, `pls_cmp_${'B'.repeat(43)}`, '203.0.113.99');
    const codes: string[] = [];
    for (let i = 0; i < 7; i++) codes.push((await attacker.get('/v1/compliance/activities')).body.error.code);
    assert.deepEqual(codes.slice(0, 5), Array(5).fill('invalid_compliance_key'));
    assert.equal(codes[5], 'too_many_invalid_tokens');
    const refused = await attacker.get('/v1/compliance/activities');
    assert.ok(Number(refused.headers['retry-after']) > 0);
    // A valid key from that network is still served: only bad ones are throttled.
    const { secret } = await createKey(w.root.owner, w.root.orgId, { name: 'same network' });
    assert.equal((await keyClient(w.t, secret, '203.0.113.99').get('/v1/compliance/roles')).status, 200);
  });
});
