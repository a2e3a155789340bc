import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestApp } from '../helpers/harness.js';
import { GitHubStandIn } from './stand-in.js';
import { type GithubWorld, githubWorld } from './world.js';

const auditOf = (w: GithubWorld, action: string) =>
  w.t.db.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('org_id', '=', w.orgId)
    .where('action', '=', action)
    .orderBy('seq')
    .execute();

describe('connecting a GitHub App', () => {
  let w: GithubWorld;
  before(async () => {
    w = await githubWorld();
  });
  after(() => w.close());

  test('the App key and webhook secret are stored encrypted and never shown again', async () => {
    const row = await w.t.db.database.db
      .selectFrom('github_connections')
      .selectAll()
      .where('id', '=', w.connectionId)
      .executeTakeFirstOrThrow();
    assert.ok(!row.private_key_ct.includes('PRIVATE KEY'));
    assert.ok(!row.webhook_secret_ct.includes(w.gh.webhookSecret));
    const view = await w.owner.get(`/api/v1/orgs/${w.orgId}/github/connections/${w.connectionId}`);
    assert.equal(view.status, 200);
    assert.ok(!view.raw.body.includes('PRIVATE KEY') && !view.raw.body.includes(w.gh.webhookSecret));
    assert.equal(view.body.webhookUrl, `http://palisade.test/github/webhooks/${w.connectionId}`);
    assert.equal(view.body.apiBaseUrl, w.gh.apiBase);
    assert.deepEqual(
      view.body.installations.map((i: { installationId: string }) => i.installationId),
      [String(w.installationId)],
    );
    const [created] = await auditOf(w, 'github_connection.created');
    assert.ok(created);
    assert.ok(!created.metadata.includes('PRIVATE KEY') && !created.metadata.includes(w.gh.webhookSecret));
    assert.equal(JSON.parse(created.metadata).appId, w.gh.appId);
  });

  test('the installations GitHub lists are shown with the picked one marked', async () => {
    const other = w.gh.addInstallation('acme-labs');
    const res = await w.owner.get(
      `/api/v1/orgs/${w.orgId}/github/connections/${w.connectionId}/available-installations`,
    );
    assert.equal(res.status, 200);
    const byId = Object.fromEntries(
      res.body.data.map((i: { installationId: string; picked: boolean }) => [i.installationId, i.picked]),
    );
    assert.equal(byId[String(w.installationId)], true);
    assert.equal(byId[String(other)], false);
  });

  test('an installation GitHub does not know is refused and nothing is stored', async () => {
    const res = await w.owner.post(`/api/v1/orgs/${w.orgId}/github/connections/${w.connectionId}/installations`, {
      installationId: '999999',
    });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'github_installation_not_found');
    assert.match(res.body.error.message, /available-installations/);
    assert.equal(
      (
        await w.t.db.database.db
          .selectFrom('github_installations')
          .selectAll()
          .where('installation_id', '=', '999999')
          .execute()
      ).length,
      0,
    );
  });

  test('a key GitHub rejects is refused before anything is stored', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const before = (await w.t.db.database.db.selectFrom('github_connections').selectAll().execute()).length;
    const res = await w.owner.post(`/api/v1/orgs/${w.orgId}/github/connections`, {
      name: 'Wrong key',
      appId: w.gh.appId,
      privateKey,
      webhookSecret: 'another-webhook-secret',
      apiBaseUrl: w.gh.apiBase,
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'github_private_key_invalid');
    assert.match(res.body.error.message, /private key/);
    assert.equal((await w.t.db.database.db.selectFrom('github_connections').selectAll().execute()).length, before);
  });

  test('something that is not an RSA key is refused with what to do', async () => {
    const res = await w.owner.post(`/api/v1/orgs/${w.orgId}/github/connections`, {
      name: 'Garbage',
      appId: w.gh.appId,
      privateKey: '-----BEGIN RSA PRIVATE KEY-----\n' + 'A'.repeat(200) + '\n-----END RSA PRIVATE KEY-----',
      webhookSecret: 'another-webhook-secret',
      apiBaseUrl: w.gh.apiBase,
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'github_private_key_invalid');
    assert.match(res.body.error.message, /Generate a new one/);
  });

  test('rotating the webhook secret takes effect at once; a new private key GitHub does not accept is refused and the old one stays', async () => {
    const url = `/api/v1/orgs/${w.orgId}/github/connections/${w.connectionId}`;
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const badKey = await w.owner.patch(url, { privateKey });
    assert.equal(badKey.status, 400);
    assert.equal(badKey.body.error.code, 'github_private_key_invalid');
    assert.match(badKey.body.error.message, /old key stays in place/);
    assert.equal((await w.owner.get(`${url}/available-installations`)).status, 200, 'the old key still works');
    const newSecret = 'rotated-webhook-secret-0123456789';
    const rotated = await w.owner.patch(url, { webhookSecret: newSecret, name: 'Acme GitHub (rotated)' });
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.name, 'Acme GitHub (rotated)');
    assert.ok(!rotated.raw.body.includes(newSecret));
    assert.equal((await w.deliver('ping', { zen: 'old' })).status, 401, 'the old secret no longer signs');
    assert.equal((await w.deliver('ping', { zen: 'new' }, { secret: newSecret })).status, 200);
    const [ev] = await auditOf(w, 'github_connection.updated');
    assert.deepEqual(JSON.parse(ev?.metadata ?? '{}'), {
      renamed: true,
      privateKeyRotated: false,
      webhookSecretRotated: true,
    });
  });

  test('members cannot manage the integration', async () => {
    const { agent } = await w.t.addMember(w.owner, w.orgId, 'dev@acme.example', 'member');
    const res = await agent.get(`/api/v1/orgs/${w.orgId}/github/connections`);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'missing_permission_github_manage');
  });
});

describe('where the GitHub API may be', () => {
  test('http:// is refused unless the operator allowed it, and loopback only through the outbound policy', async () => {
    const gh = await new GitHubStandIn().start();
    const t = await createTestApp({ githubAllowHttp: false });
    try {
      const { orgId, owner } = await t.seedOrg('Beta', 'owner@beta.example');
      const body = {
        name: 'x',
        appId: gh.appId,
        privateKey: gh.privateKey,
        webhookSecret: gh.webhookSecret,
        apiBaseUrl: gh.apiBase,
      };
      const http = await owner.post(`/api/v1/orgs/${orgId}/github/connections`, body);
      assert.equal(http.status, 400);
      assert.equal(http.body.error.code, 'github_api_url_invalid');
      assert.match(http.body.error.message, /PALISADE_GITHUB_ALLOW_HTTP/);
      t.config.githubAllowHttp = true;
      t.config.outboundAllowCidrs = [];
      const t2 = await createTestApp({ githubAllowHttp: true, outboundAllowCidrs: [] });
      try {
        const b = await t2.seedOrg('Gamma', 'owner@gamma.example');
        const loop = await b.owner.post(`/api/v1/orgs/${b.orgId}/github/connections`, body);
        assert.equal(loop.status, 400);
        assert.equal(loop.body.error.code, 'destination_address_denied');
        assert.equal(gh.requests.length, 0, 'the stand-in was never contacted');
      } finally {
        await t2.close();
      }
      assert.equal((await t.db.database.db.selectFrom('github_connections').selectAll().execute()).length, 0);
    } finally {
      await t.close();
      await gh.close();
    }
  });

  test('a GitHub Enterprise Server base URL clones from the server root', async () => {
    const { gitBaseUrl } = await import('../../src/github/connection.js');
    assert.equal(gitBaseUrl('https://api.github.com'), 'https://github.com');
    assert.equal(gitBaseUrl('https://github.example.com/api/v3'), 'https://github.example.com');
  });
});
