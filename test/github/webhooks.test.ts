import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type GithubWorld, githubWorld } from './world.js';

const GH_TOKEN = ['ghp', 'wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx'].join('_');

describe('GitHub webhooks: signature, replay, push scans', () => {
  let w: GithubWorld;
  let repositoryId: string;
  const count = async (table: 'github_jobs' | 'github_webhook_deliveries') =>
    Number(
      (
        await w.t.db.database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  before(async () => {
    w = await githubWorld();
    ({ repositoryId } = await w.allowlist('acme/api', { 'src/a.ts': 'export const a = 1;\n' }));
    await w.t.addMember(w.owner, w.orgId, 'admin@acme.example', 'admin');
  });
  after(() => w.close());

  test('a forged signature is refused with 401, audited, and queues nothing', async () => {
    const jobs = await count('github_jobs');
    const deliveries = await count('github_webhook_deliveries');
    const payload = w.gh.pushPayload('acme/api', 'main', '0'.repeat(40));
    for (const opts of [
      { secret: 'not-the-secret-at-all' },
      { signature: '' },
      { signature: 'sha1=0000' },
      { signature: `sha256=${'0'.repeat(64)}` },
    ]) {
      const res = await w.deliver('push', payload, opts);
      assert.equal(res.status, 401, JSON.stringify(opts));
      assert.equal(res.body.error.code, 'webhook_signature_invalid');
      assert.match(res.body.error.message, /same secret/);
    }
    assert.equal(await count('github_jobs'), jobs);
    assert.equal(
      await count('github_webhook_deliveries'),
      deliveries,
      'a forged delivery does not burn its delivery id',
    );
    const rejected = await w.t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'github_webhook.rejected')
      .execute();
    assert.equal(rejected.length, 4);
    assert.ok(
      rejected.every((e) => e.outcome === 'denied' && JSON.parse(e.metadata).reason === 'webhook_signature_invalid'),
    );
  });

  test('a body changed after signing is refused', async () => {
    const d = w.gh.signedDelivery('push', w.gh.pushPayload('acme/api', 'main', '0'.repeat(40)));
    const tampered = d.body.replace('"refs/heads/main"', '"refs/heads/evil"');
    const res = await w.t.app.inject({
      method: 'POST',
      url: `/github/webhooks/${w.connectionId}`,
      headers: d.headers,
      payload: tampered,
    });
    assert.equal(res.statusCode, 401);
  });

  test('a replayed delivery id answers 409 and is processed once', async () => {
    const before = w.gh.repo('acme/api');
    assert.ok(before);
    const payload = w.gh.pushPayload('acme/api', 'main', '0'.repeat(40));
    const first = await w.deliver('push', payload, { deliveryId: '7d1ad9b0-0000-4000-8000-000000000001' });
    assert.equal(first.status, 202);
    const jobs = await count('github_jobs');
    const replay = await w.deliver('push', payload, { deliveryId: '7d1ad9b0-0000-4000-8000-000000000001' });
    assert.equal(replay.status, 409);
    assert.equal(replay.body.error.code, 'webhook_delivery_replayed');
    assert.equal(await count('github_jobs'), jobs);
    const [ev] = await w.t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'github_webhook.rejected')
      .orderBy('seq', 'desc')
      .execute();
    assert.equal(JSON.parse(ev?.metadata ?? '{}').reason, 'webhook_delivery_replayed');
  });

  test('an unknown connection answers 404 without touching anything', async () => {
    const d = w.gh.signedDelivery('ping', { zen: 'hi' });
    const res = await w.t.app.inject({
      method: 'POST',
      url: '/github/webhooks/ghc_01nosuchconnection00000000',
      headers: d.headers,
      payload: d.body,
    });
    assert.equal(res.statusCode, 404);
    assert.equal(JSON.parse(res.body).error.code, 'webhook_connection_unknown');
  });

  test('the webhook path needs no Palisade credential, and a Palisade token there is not accepted as one', async () => {
    const d = w.gh.signedDelivery('ping', { zen: 'Keep it logically awesome.' });
    const res = await w.t.app.inject({
      method: 'POST',
      url: `/github/webhooks/${w.connectionId}`,
      headers: { ...d.headers, authorization: 'Bearer pls_pat_invalid' },
      payload: d.body,
    });
    assert.equal(res.statusCode, 200);
    assert.equal(JSON.parse(res.body).queued, null);
  });

  test('a push that adds a secret to the default branch is scanned: the finding blocks reads, is audited, and admins are mailed', async () => {
    const before = w.gh.repo('acme/api');
    const previous = (await w.owner.get(`/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}`)).body.scannedSha;
    assert.ok(before && previous);
    w.gh.commit('acme/api', { 'src/deploy.ts': `export const token = "${GH_TOKEN}";\n` });
    const res = await w.deliver('push', w.gh.pushPayload('acme/api', 'main', previous));
    assert.equal(res.status, 202);
    await w.runJobs();
    const repo = await w.owner.get(`/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}`);
    assert.equal(repo.body.status, 'blocked');
    assert.notEqual(repo.body.scannedSha, previous);
    const read = await w.owner.get(`/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}/file?path=src/a.ts`);
    assert.equal(read.status, 409);
    const [detected] = await w.t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'github_finding.detected')
      .execute();
    assert.equal(JSON.parse(detected?.metadata ?? '{}').path, 'src/deploy.ts');
    for (const to of ['owner@acme.example', 'admin@acme.example']) {
      const mail = await w.t.lastEmail(to, 'github_secret_found');
      assert.ok(mail, `mail to ${to}`);
      assert.match(mail.text, /src\/deploy\.ts:1 \(secretlint\/github\) ghp_\*+/);
      assert.ok(!mail.text.includes(GH_TOKEN));
    }
  });

  test('a push to another branch and a pull request on a repository off the allowlist queue nothing', async () => {
    const jobs = await count('github_jobs');
    w.gh.commit('acme/api', { 'x.ts': 'x' }, { branch: 'topic' });
    const push = await w.deliver('push', w.gh.pushPayload('acme/api', 'topic', '0'.repeat(40)));
    assert.equal(push.status, 200);
    assert.match(push.body.note, /default branch/);
    w.gh.createRepo('acme/other', w.installationId, { 'a.ts': 'a' });
    w.gh.commit('acme/other', { 'b.ts': 'b' }, { branch: 'f' });
    w.gh.openPullRequest('acme/other', 'f', 1);
    const pr = await w.deliver('pull_request', w.gh.pullRequestPayload('acme/other', 1, 'opened'));
    assert.equal(pr.status, 200);
    assert.match(pr.body.note, /not on the allowlist/);
    assert.equal(await count('github_jobs'), jobs);
  });

  test('a payload that is not JSON, or too large, is refused with a clear code', async () => {
    const sig = w.gh.signedDelivery('push', {}).headers;
    const notJson = 'this is not json';
    const { createHmac } = await import('node:crypto');
    const res = await w.t.app.inject({
      method: 'POST',
      url: `/github/webhooks/${w.connectionId}`,
      headers: {
        ...sig,
        'x-github-delivery': 'aaaaaaaa-0000-4000-8000-000000000009',
        'x-hub-signature-256': `sha256=${createHmac('sha256', w.gh.webhookSecret).update(notJson).digest('hex')}`,
      },
      payload: notJson,
    });
    assert.equal(res.statusCode, 400);
    assert.equal(JSON.parse(res.body).error.code, 'webhook_payload_invalid');
    const big = await w.t.app.inject({
      method: 'POST',
      url: `/github/webhooks/${w.connectionId}`,
      headers: sig,
      payload: 'x'.repeat(26 * 1024 * 1024),
    });
    assert.equal(big.statusCode, 413);
  });
});

describe('GitHub access removed on GitHub', () => {
  let w: GithubWorld;
  before(async () => {
    w = await githubWorld();
  });
  after(() => w.close());

  test('a repository removed from the installation leaves the allowlist, its clone is deleted, and the removal is audited', async () => {
    const { existsSync } = await import('node:fs');
    const { mirrorDir } = await import('../../src/github/git.js');
    const kept = await w.allowlist('acme/kept', { 'a.ts': 'a' });
    const gone = await w.allowlist('acme/gone', { 'b.ts': 'b' });
    const dir = mirrorDir(w.t.config, w.orgId, gone.repositoryId);
    assert.ok(existsSync(dir));
    const { exampleOf } = await import('./stand-in.js');
    const payload = {
      ...exampleOf('installation_repositories', 'removed'),
      installation: { id: w.installationId },
      repositories_removed: [{ id: w.gh.repo('acme/gone').id, full_name: 'acme/gone' }],
    };
    const res = await w.deliver('installation_repositories', payload);
    assert.equal(res.status, 200);
    assert.match(res.body.note, /1 repository left the allowlist/);
    const list = await w.owner.get(`/api/v1/orgs/${w.orgId}/github/repositories`);
    assert.deepEqual(
      list.body.data.map((r: { fullName: string }) => r.fullName),
      ['acme/kept'],
    );
    assert.ok(!existsSync(dir), 'the clone is deleted');
    const [ev] = await w.t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'github_repository.removed')
      .execute();
    assert.deepEqual([ev?.actor_type, JSON.parse(ev?.metadata ?? '{}').reason], ['system', 'access_removed_on_github']);
    assert.equal(
      (await w.owner.get(`/api/v1/orgs/${w.orgId}/github/repositories/${gone.repositoryId}/file?path=b.ts`)).status,
      404,
    );

    const uninstall = {
      ...exampleOf('installation', 'deleted'),
      installation: { id: w.installationId, account: { login: 'acme' } },
    };
    const res2 = await w.deliver('installation', uninstall);
    assert.equal(res2.status, 200);
    assert.deepEqual((await w.owner.get(`/api/v1/orgs/${w.orgId}/github/repositories`)).body.data, []);
    assert.deepEqual(
      (await w.owner.get(`/api/v1/orgs/${w.orgId}/github/connections/${w.connectionId}`)).body.installations,
      [],
    );
    assert.equal((await w.owner.get(`/api/v1/orgs/${w.orgId}/github/repositories/${kept.repositoryId}`)).status, 404);
  });
});
