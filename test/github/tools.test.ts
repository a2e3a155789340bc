import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Agent } from '../helpers/harness.js';
import { type GithubWorld, githubWorld } from './world.js';

/** A fake-looking but well-formed GitHub token: the secret scanner's recommended preset recognizes the format. */
const GH_TOKEN = ['ghp', 'wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx'].join('_');

const FILES = {
  'README.md': '# widgets\nUse API_KEY from the environment.\n',
  'src/index.ts': "export const apiKeyName = 'API_KEY';\n",
  'src/link-in.ts': { symlink: 'index.ts' },
  'src/link-env': { symlink: '../.env' },
  'link-out': { symlink: '../../../../etc/passwd' },
  '.env': 'API_KEY=super-secret-value\n',
  '.env.example': 'API_KEY=\n',
  'secrets/prod.json': '{"API_KEY": "x"}\n',
  'config/prod.yml': 'api_key: abc\n',
  'assets/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]),
  'big.txt': 'x'.repeat(5000),
};

describe('repository tools: every read checked against allowlist and deny rules, and audited', () => {
  let w: GithubWorld;
  let repositoryId: string;
  let base: string;
  let member: Agent;
  const audit = (action: string) =>
    w.t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', w.orgId)
      .where('action', '=', action)
      .orderBy('seq', 'desc')
      .execute();
  before(async () => {
    w = await githubWorld({ githubMaxFileBytes: 4096 });
    ({ repositoryId } = await w.allowlist('acme/widgets', FILES, { denyRules: ['config/prod.yml', '!.env.example'] }));
    base = `/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}`;
    ({ agent: member } = await w.t.addMember(w.owner, w.orgId, 'dev@acme.example', 'member'));
  });
  after(() => w.close());

  test('a clear repository is readable, and the read is audited with repository, path and outcome but not the content', async () => {
    const res = await member.get(`${base}/file?path=src/index.ts`);
    assert.equal(res.status, 200);
    assert.equal(res.body.content, "export const apiKeyName = 'API_KEY';\n");
    assert.equal(res.body.repository, 'acme/widgets');
    const [ev] = await audit('github_file.read');
    assert.equal(ev?.outcome, 'success');
    const meta = JSON.parse(ev?.metadata ?? '{}');
    assert.deepEqual([meta.repository, meta.path, meta.allowed], ['acme/widgets', 'src/index.ts', true]);
    assert.ok(!ev?.metadata.includes('apiKeyName'), 'no content in the audit log');
    assert.equal(ev?.actor_email, 'dev@acme.example');
  });

  test('a file of the default deny set answers 403 path_denied naming the rule, and the refusal is audited', async () => {
    const res = await member.get(`${base}/file?path=.env`);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'path_denied');
    assert.equal(res.body.error.details.rule, '.env*');
    assert.equal(res.body.error.details.source, 'default');
    assert.match(res.body.error.message, /denied by the rule "\.env\*"/);
    assert.ok(!res.raw.body.includes('super-secret-value'));
    const [ev] = await audit('github_file.read');
    assert.equal(ev?.outcome, 'denied');
    assert.deepEqual(JSON.parse(ev?.metadata ?? '{}'), {
      repository: 'acme/widgets',
      path: '.env',
      allowed: false,
      reason: 'path_denied',
      rule: '.env*',
    });
    for (const [path, rule] of [
      ['secrets/prod.json', 'secrets/'],
      ['config/prod.yml', 'config/prod.yml'],
      ['SECRETS/prod.json', 'secrets/'],
    ] as const) {
      const r = await member.get(`${base}/file?path=${encodeURIComponent(path)}`);
      assert.equal(r.status, 403, path);
      assert.equal(r.body.error.details.rule, rule, path);
    }
  });

  test('a repository addition with "!" re-allows a file of the default set', async () => {
    const res = await member.get(`${base}/file?path=.env.example`);
    assert.equal(res.status, 200);
    assert.equal(res.body.content, 'API_KEY=\n');
  });

  test('listing withholds denied entries and says how many', async () => {
    const root = await member.get(`${base}/tree`);
    assert.equal(root.status, 200);
    const names = root.body.entries.map((e: { path: string }) => e.path);
    assert.ok(names.includes('README.md') && names.includes('src') && names.includes('.env.example'));
    assert.ok(!names.includes('.env') && !names.includes('secrets'));
    assert.equal(root.body.withheld, 2);
    const denied = await member.get(`${base}/tree?path=secrets`);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'path_denied');
    const [ev] = await audit('github_tree.listed');
    assert.equal(ev?.outcome, 'denied');
  });

  test('search returns no line from a denied file', async () => {
    const res = await member.get(`${base}/search?q=api_key`);
    assert.equal(res.status, 200);
    const paths = res.body.matches.map((m: { path: string }) => m.path).sort();
    assert.deepEqual(paths, ['.env.example', 'README.md', 'src/index.ts']);
    assert.equal(res.body.withheldFiles, 3);
    assert.ok(!res.raw.body.includes('super-secret-value') && !res.raw.body.includes('api_key: abc'));
    const [ev] = await audit('github_code.searched');
    assert.equal(JSON.parse(ev?.metadata ?? '{}').withheldFiles, 3);
    assert.ok(!ev?.metadata.includes('api_key'), 'the query text is not recorded');
  });

  test('path traversal and malformed paths are refused before anything is read, and audited', async () => {
    for (const path of [
      '../../etc/passwd',
      '/etc/passwd',
      'src/../.env',
      './.env',
      'src//index.ts',
      'src\\..\\.env',
      'src/\u0000.env',
      '..',
      '%2e%2e/.env',
    ]) {
      const res = await member.get(`${base}/file?path=${encodeURIComponent(path)}`);
      if (path.includes('\u0000')) {
        // NUL never reaches a route: Palisade's input policy refuses it in every request.
        assert.equal(res.status, 400, path);
        assert.equal(res.body.error.code, 'invalid_text');
        continue;
      }
      if (path === '%2e%2e/.env') {
        // Decoded once by HTTP: "%2e%2e" is a literal directory name, and .env under it is denied all the same.
        assert.equal(res.status, 403, path);
        assert.equal(res.body.error.code, 'path_denied');
        continue;
      }
      assert.equal(res.status, 400, `${path}: ${res.raw.body}`);
      assert.equal(res.body.error.code, 'invalid_repository_path');
      assert.match(res.body.error.message, /relative to the repository root/);
    }
    const events = await audit('github_file.read');
    assert.ok(
      events
        .slice(1, 8)
        .every((e) => e.outcome === 'denied' && JSON.parse(e.metadata).reason === 'invalid_repository_path'),
    );
  });

  test("a symlink out of the repository is refused; one to a denied file is denied by that file's rule; one inside is followed", async () => {
    const out = await member.get(`${base}/file?path=link-out`);
    assert.equal(out.status, 403);
    assert.equal(out.body.error.code, 'symlink_outside_repository');
    assert.ok(!out.raw.body.includes('root:'));
    const env = await member.get(`${base}/file?path=src/link-env`);
    assert.equal(env.status, 403);
    assert.equal(env.body.error.code, 'path_denied');
    assert.equal(env.body.error.details.resolvedPath, '.env');
    const inside = await member.get(`${base}/file?path=src/link-in.ts`);
    assert.equal(inside.status, 200);
    assert.equal(inside.body.resolvedPath, 'src/index.ts');
  });

  test('binary and oversized files are refused with what to do', async () => {
    const png = await member.get(`${base}/file?path=assets/logo.png`);
    assert.equal(png.status, 422);
    assert.equal(png.body.error.code, 'binary_file');
    const big = await member.get(`${base}/file?path=big.txt`);
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'file_too_large');
    assert.match(big.body.error.message, /Search it instead/);
  });

  test('reads serve the scanned commit: a push is invisible until it was scanned', async () => {
    w.gh.commit('acme/widgets', { 'src/new.ts': 'export const fresh = true;\n' });
    const before = await member.get(`${base}/file?path=src/new.ts`);
    assert.equal(before.status, 404);
    assert.equal(before.body.error.code, 'file_not_found');
    await w.owner.post(`${base}/rescan`);
    await w.runJobs();
    const afterScan = await member.get(`${base}/file?path=src/new.ts`);
    assert.equal(afterScan.status, 200);
  });

  test('a repository that is not allowlisted is unreachable, like one that does not exist', async () => {
    w.gh.createRepo('acme/hidden', w.installationId, { 'a.ts': 'x' });
    const res = await member.get(
      `/api/v1/orgs/${w.orgId}/github/repositories/ghr_01doesnotexist0000000000/file?path=a.ts`,
    );
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
    const list = await member.get(`/api/v1/orgs/${w.orgId}/github/accessible-repositories`);
    assert.deepEqual(
      list.body.repositories.map((r: { fullName: string }) => r.fullName),
      ['acme/widgets'],
    );
    assert.deepEqual(
      list.body.tools.map((t: { name: string }) => t.name),
      ['github_list_tree', 'github_read_file', 'github_search_code', 'github_read_pull_request_diff'],
    );
  });

  test('access narrowed to a role refuses other members with the reason, audited, and changes nothing', async () => {
    const patched = await w.owner.patch(base, { access: { roles: ['admin', 'primary_owner'] } });
    assert.equal(patched.status, 200);
    const res = await member.get(`${base}/file?path=src/index.ts`);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'repository_access_denied');
    assert.match(res.body.error.message, /admin, primary_owner \(yours is member\)/);
    const [ev] = await audit('github_file.read');
    assert.equal(ev?.outcome, 'denied');
    assert.equal(JSON.parse(ev?.metadata ?? '{}').reason, 'repository_access_denied');
    assert.equal((await w.owner.get(`${base}/file?path=src/index.ts`)).status, 200);
    assert.deepEqual(
      (await member.get(`/api/v1/orgs/${w.orgId}/github/accessible-repositories`)).body.repositories,
      [],
    );
    await w.owner.patch(base, { access: { roles: null } });
  });

  test('access narrowed to an IdP group admits members whose last SSO sign-in carried it', async () => {
    await w.owner.patch(base, { access: { groups: ['widgets-readers'] } });
    const refused = await member.get(`${base}/file?path=src/index.ts`);
    assert.equal(refused.status, 403);
    assert.match(refused.body.error.message, /widgets-readers/);
    const user = await w.t.db.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'dev@acme.example')
      .executeTakeFirstOrThrow();
    await w.t.db.database.db
      .insertInto('sso_logins')
      .values({
        id: 'ssl_01test000000000000000000',
        connection_id: 'sso_x',
        org_id: w.orgId,
        user_id: user.id,
        email: 'dev@acme.example',
        attributes: JSON.stringify({ email: 'dev@acme.example', groups: ['widgets-readers'] }),
        role: 'member',
        purpose: 'login',
        occurred_at: new Date().toISOString(),
      })
      .execute();
    assert.equal((await member.get(`${base}/file?path=src/index.ts`)).status, 200);
    await w.owner.patch(base, { access: { groups: null } });
  });

  test('invalid deny rules are refused with the rule named, and nothing changes', async () => {
    const res = await w.owner.patch(base, { denyRules: ['../outside'] });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_deny_rule');
    assert.match(res.body.error.message, /"\.\.\/outside"/);
    const repo = await w.owner.get(base);
    assert.deepEqual(repo.body.denyRules.additions, ['config/prod.yml', '!.env.example']);
  });
});

describe('the secret scan gates a repository', () => {
  let w: GithubWorld;
  before(async () => {
    w = await githubWorld();
  });
  after(() => w.close());

  test('findings block reads until acknowledged with a reason; the finding shows a redacted match only', async () => {
    const { repositoryId, repo } = await w.allowlist('acme/leaky', {
      'src/app.ts': `const token = "${GH_TOKEN}";\nexport default token;\n`,
      'README.md': 'hi\n',
    });
    assert.equal(repo.body.status, 'blocked');
    assert.equal(repo.body.readable, false);
    const base = `/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}`;
    const read = await w.owner.get(`${base}/file?path=README.md`);
    assert.equal(read.status, 409);
    assert.equal(read.body.error.code, 'repository_not_readable');
    const findings = await w.owner.get(`${base}/findings`);
    assert.equal(findings.body.data.length, 1);
    const f = findings.body.data[0];
    assert.deepEqual([f.path, f.line, f.ruleId, f.status], ['src/app.ts', 1, 'secretlint/github', 'open']);
    assert.match(f.redactedMatch, /^ghp_\*+ \(40 chars\)$/);
    assert.ok(!findings.raw.body.includes(GH_TOKEN));
    const detected = await w.t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'github_finding.detected')
      .execute();
    assert.equal(detected.length, 1);
    assert.ok(!detected[0]?.metadata.includes(GH_TOKEN));
    const short = await w.owner.post(`${base}/findings/${f.id}/acknowledge`, { reason: 'ok' });
    assert.equal(short.status, 400);
    const ack = await w.owner.post(`${base}/findings/${f.id}/acknowledge`, {
      reason: 'Revoked on GitHub; test fixture only.',
    });
    assert.equal(ack.status, 200);
    assert.equal(ack.body.repositoryStatus, 'enabled');
    assert.equal((await w.owner.get(`${base}/file?path=README.md`)).status, 200);
    const again = await w.owner.post(`${base}/findings/${f.id}/acknowledge`, {
      reason: 'Revoked on GitHub; test fixture only.',
    });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'finding_not_open');
    const [ackEvent] = await w.t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'github_finding.acknowledged')
      .execute();
    assert.equal(JSON.parse(ackEvent?.metadata ?? '{}').reason, 'Revoked on GitHub; test fixture only.');
  });

  test('a deny rule that covers the file with the finding makes the repository readable, the file stays unreadable', async () => {
    const { repositoryId, repo } = await w.allowlist('acme/deploy', {
      'deploy/creds.txt': `token=${GH_TOKEN}\n`,
      'src/a.ts': 'export {};\n',
    });
    assert.equal(repo.body.status, 'blocked');
    const base = `/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}`;
    const patched = await w.owner.patch(base, { denyRules: ['deploy/'] });
    assert.equal(patched.body.status, 'enabled');
    const findings = await w.owner.get(`${base}/findings`);
    assert.equal(findings.body.data[0].status, 'covered');
    assert.equal(findings.body.data[0].coveredBy, 'deploy/');
    assert.equal((await w.owner.get(`${base}/file?path=src/a.ts`)).status, 200);
    assert.equal((await w.owner.get(`${base}/file?path=deploy/creds.txt`)).status, 403);
  });

  test('custom secret patterns find what the preset does not', async () => {
    const { repositoryId, repo } = await w.allowlist(
      'acme/custom',
      { 'src/cfg.ts': 'export const internal = "acme_live_0123456789abcdef01234567";\n' },
      {
        secretPatterns: [
          { id: 'acme-internal', pattern: '(acme_live_[0-9a-f]{24})', description: 'Acme internal API token' },
        ],
      },
    );
    assert.equal(repo.body.status, 'blocked');
    const findings = await w.owner.get(`/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}/findings`);
    assert.equal(findings.body.data[0].ruleId, 'acme-internal');
    const bad = await w.owner.patch(`/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}`, {
      secretPatterns: [{ id: 'empty', pattern: 'x*', description: 'matches nothing useful' }],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_secret_pattern');
  });
});
