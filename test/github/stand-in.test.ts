import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { App } from '@octokit/app';
import { Octokit } from '@octokit/rest';
import { GitHubStandIn, exampleOf } from './stand-in.js';

/**
 * The stand-in GitHub server (test/github/stand-in.ts) is only as good as its resemblance to GitHub:
 * these tests hold its answers to recorded real responses (@octokit/fixtures) and its webhook
 * payloads to real ones (@octokit/webhooks-examples), key by key and type by type.
 */
const require = createRequire(import.meta.url);
type Fixture = { method: string; path: string; status: number; response: unknown; headers: Record<string, string> };
const fixture = (name: string) =>
  require(`@octokit/fixtures/scenarios/api.github.com/${name}/normalized-fixture.json`) as Fixture[];

/** The shape of a JSON value: object keys with the shape of each value, array element shape, or the JSON type. */
function shape(v: unknown, depth = 0): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return depth > 3 ? 'array' : v.length ? [shape(v[0], depth + 1)] : [];
  if (typeof v === 'object')
    return depth > 3
      ? 'object'
      : Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, shape((v as Record<string, unknown>)[k], depth + 1)]),
        );
  return typeof v;
}

/** Keys whose type legitimately varies between repositories (null when unset). */
const nullable = (a: unknown, b: unknown) => a === 'null' || b === 'null';
function sameShape(actual: unknown, expected: unknown, path = '$'): string[] {
  if (nullable(actual, expected)) return [];
  if (typeof expected !== 'object' || expected === null)
    return actual === expected ? [] : [`${path}: ${JSON.stringify(actual)} instead of ${JSON.stringify(expected)}`];
  if (Array.isArray(expected))
    return Array.isArray(actual) && expected[0] && actual[0] ? sameShape(actual[0], expected[0], `${path}[0]`) : [];
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return [`${path}: not an object`];
  const out: string[] = [];
  for (const k of Object.keys(expected)) {
    if (!(k in actual)) out.push(`${path}.${k}: missing`);
    else
      out.push(
        ...sameShape((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`),
      );
  }
  for (const k of Object.keys(actual)) if (!(k in expected)) out.push(`${path}.${k}: not in the recording`);
  return out;
}

describe('the GitHub stand-in answers like GitHub', () => {
  let gh: GitHubStandIn;
  let octokit: Octokit;
  before(async () => {
    gh = await new GitHubStandIn().start();
    const inst = gh.addInstallation('octokit-fixture-org');
    gh.createRepo('octokit-fixture-org/hello-world', inst, { 'README.md': '# hello-world' });
    const app = new App({
      appId: gh.appId,
      privateKey: gh.privateKey,
      Octokit: Octokit.defaults({ baseUrl: gh.apiBase }),
    });
    octokit = await app.getInstallationOctokit(inst);
  });
  after(() => gh.close());

  test('a repository has exactly the keys and value types of the recorded GET /repos/{owner}/{repo}', async () => {
    const recorded = fixture('get-repository')[0] as Fixture;
    const { data, status } = await octokit.request('GET /repos/{owner}/{repo}', {
      owner: 'octokit-fixture-org',
      repo: 'hello-world',
    });
    assert.equal(status, recorded.status);
    assert.deepEqual(sameShape(shape(data), shape(recorded.response)), []);
  });

  test('an unknown repository answers 404 with the message and documentation_url keys GitHub sends', async () => {
    const recorded = fixture('errors')[0] as Fixture;
    const err = await octokit
      .request('GET /repos/{owner}/{repo}', { owner: 'octokit-fixture-org', repo: 'missing' })
      .catch((e: { status: number; response: { data: unknown } }) => e);
    assert.equal((err as { status: number }).status, 404);
    const keys = Object.keys((err as { response: { data: Record<string, unknown> } }).response.data).sort();
    for (const k of keys) assert.ok(k in (recorded.response as object), `${k} is not a key of GitHub's error bodies`);
    assert.deepEqual(keys, ['documentation_url', 'message']);
  });

  test('the JSON content type matches the recording', async () => {
    const recorded = fixture('get-repository')[0] as Fixture;
    const res = await fetch(`${gh.apiBase}/repos/octokit-fixture-org/hello-world`);
    assert.equal(res.status, 401, 'no token, no repository');
    assert.equal(res.headers.get('content-type'), recorded.headers['content-type']);
  });

  test('pull_request and push deliveries are the real example payloads with this repository in them', () => {
    gh.commit('octokit-fixture-org/hello-world', { 'a.txt': 'a' }, { branch: 'feature' });
    gh.openPullRequest('octokit-fixture-org/hello-world', 'feature', 3);
    for (const action of ['opened', 'synchronize'] as const) {
      const real = exampleOf('pull_request', action);
      const ours = gh.pullRequestPayload('octokit-fixture-org/hello-world', 3, action);
      const { installation, ...rest } = ours;
      assert.ok(installation, 'App deliveries carry the installation');
      // Some recorded examples come from an App (with installation), some from a repository webhook (without).
      assert.deepEqual(sameShape(shape('installation' in real ? ours : rest), shape(real)), []);
      assert.equal((ours.pull_request as { head: { sha: string } }).head.sha.length, 40);
    }
    const realPush = exampleOf('push');
    const ourPush = gh.pushPayload('octokit-fixture-org/hello-world', 'main', '0'.repeat(40));
    const { installation: _, ...push } = ourPush;
    assert.deepEqual(sameShape(shape('installation' in realPush ? ourPush : push), shape(realPush)), []);
  });

  test('repositories are served for clone over smart HTTP by git itself, only with an installation token', async () => {
    const { execFile } = await import('node:child_process');
    // Asynchronous: the stand-in runs in this process, so a synchronous git would wait for a server that cannot answer.
    const run = (args: string[]) =>
      new Promise<{ status: number; stderr: string }>((r) =>
        execFile('git', args, { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }, (err, _o, stderr) =>
          r({ status: err ? 1 : 0, stderr }),
        ),
      );
    const { mkdtempSync, rmSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'clone-'));
    try {
      const denied = await run(['clone', '-q', `${gh.url}/octokit-fixture-org/hello-world.git`, join(dir, 'a')]);
      assert.notEqual(denied.status, 0);
      const { token } = (await octokit.auth({ type: 'installation' })) as { token: string };
      const url = `${gh.url.replace('http://', `http://x-access-token:${token}@`)}/octokit-fixture-org/hello-world.git`;
      const ok = await run(['clone', '-q', url, join(dir, 'b')]);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(readFileSync(join(dir, 'b', 'README.md'), 'utf8'), '# hello-world');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
