import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startModelUpstream } from '../helpers/model-upstream.js';
import { validateSarif } from './sarif-validator.js';
import { type GithubWorld, githubWorld } from './world.js';

const GH_TOKEN = ['ghp', 'wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx'].join('_');

const BASE_FILES = {
  'src/legacy.ts':
    "import crypto from 'node:crypto';\n// Old code, already on main: not part of any pull request.\nexport const legacy = (password: string) => crypto.createHash('md5').update(password).digest('hex');\n",
  'src/server.ts': "import https from 'node:https';\nexport const agent = new https.Agent({ keepAlive: true });\n",
  'README.md': '# payments\n',
};

type Run = {
  name: string;
  head_sha: string;
  conclusion: string;
  output: { title: string; summary: string };
  annotations: { path: string; start_line: number; annotation_level: string; title: string }[];
};

describe('pull request security scanning', () => {
  let w: GithubWorld;
  let repositoryId: string;
  let next = 10;
  const open = async (files: Record<string, string | Buffer | { symlink: string } | null>) => {
    const n = next++;
    w.gh.commit('acme/payments', files, { branch: `pr-${n}` });
    const pr = w.gh.openPullRequest('acme/payments', `pr-${n}`, n);
    const res = await w.deliver('pull_request', w.gh.pullRequestPayload('acme/payments', n, 'opened'));
    assert.equal(res.status, 202, res.raw.body);
    await w.runJobs();
    const run = w.gh.checkRuns.filter((r) => r.head_sha === pr.headSha).pop() as Run | undefined;
    return {
      pr,
      run,
      reviews: w.gh.reviews.filter((r) => r.number === n),
      sarif: w.gh.sarifs.filter((s) => s.body.commit_sha === pr.headSha).pop(),
    };
  };
  before(async () => {
    w = await githubWorld();
    ({ repositoryId } = await w.allowlist('acme/payments', BASE_FILES));
  });
  after(() => w.close());

  test('findings on changed lines become a check run, review comments with a suggested fix, and a valid SARIF upload', async () => {
    const { pr, run, reviews, sarif } = await open({
      'src/server.ts':
        "import https from 'node:https';\nexport const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });\n",
      'app/auth.py':
        'import hashlib\n\ndef store_password(password):\n    return hashlib.sha1(password.encode()).hexdigest()\n',
      'svc/crypto.go':
        'package svc\n\nimport "crypto/cipher"\n\nfunc Seal(aead cipher.AEAD, msg []byte) []byte {\n\tnonce := []byte("fixed-nonce!")\n\treturn aead.Seal(nil, nonce, msg, nil)\n}\n',
      'src/main/java/Tokens.java':
        'import java.util.Random;\n\nclass Tokens {\n  String newSessionToken() {\n    Random rnd = new Random();\n    return Long.toHexString(rnd.nextLong());\n  }\n}\n',
    });
    assert.ok(run, 'a check run was created');
    assert.equal(run.name, 'Palisade security scan');
    assert.equal(run.conclusion, 'failure');
    const found = run.annotations.map((a) => `${a.path}:${a.start_line}:${a.title}`).sort();
    assert.deepEqual(
      found,
      [
        'app/auth.py:4:crypto/weak-password-hash',
        'src/main/java/Tokens.java:5:crypto/insecure-random',
        'src/server.ts:2:tls/verification-disabled',
        'svc/crypto.go:7:crypto/static-iv',
      ].sort(),
    );
    assert.ok(!found.some((f) => f.startsWith('src/legacy.ts')), 'unchanged code is not reported');
    // Review comments: one per finding, on changed lines only (the stand-in refuses others with 422, as GitHub does).
    assert.equal(reviews.length, 1);
    const comments = reviews[0]?.body.comments as { path: string; line: number; side: string; body: string }[];
    assert.equal(comments.length, 4);
    assert.ok(comments.every((c) => c.side === 'RIGHT'));
    const tls = comments.find((c) => c.path === 'src/server.ts');
    assert.match(
      tls?.body ?? '',
      /```suggestion\nexport const agent = new https\.Agent\(\{ keepAlive: true, rejectUnauthorized: true \}\);\n```/,
    );
    const java = comments.find((c) => c.path.endsWith('Tokens.java'));
    assert.match(java?.body ?? '', /```suggestion\n {4}Random rnd = new SecureRandom\(\);\n```/);
    // SARIF 2.1.0 to code scanning, for the head commit of the pull request ref.
    assert.ok(sarif);
    assert.equal(sarif.body.ref, `refs/pull/${pr.number}/head`);
    const results = (sarif.sarif.runs as { results: { ruleId: string; level: string }[] }[])[0]?.results ?? [];
    assert.equal(results.length, 4);
    const validation = await validateSarif(sarif.sarif);
    assert.deepEqual(validation.errors, []);
    assert.deepEqual(validation.warnings, []);
    const scans = await w.owner.get(`/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}/pr-scans`);
    assert.equal(scans.body.data[0].pullRequest, pr.number);
    assert.equal(scans.body.data[0].conclusion, 'failure');
    const [ev] = await w.t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'github_pr.scanned')
      .orderBy('seq', 'desc')
      .execute();
    const meta = JSON.parse(ev?.metadata ?? '{}');
    assert.equal(meta.pullRequest, pr.number);
    assert.equal(meta.findings, 4);
    assert.deepEqual(meta.publishErrors, []);
  });

  test('legitimate cryptography passes: HMAC-SHA1 for TOTP, MD5 as an ETag, SHA-1 as a content id, AES-GCM with a random nonce', async () => {
    const { run, reviews } = await open({
      'src/totp.ts':
        "import { createHmac } from 'node:crypto';\n// RFC 6238 fixes HMAC-SHA1.\nexport function totp(secret: Buffer, counter: Buffer): string {\n  const mac = createHmac('sha1', secret).update(counter).digest();\n  return mac.toString('hex');\n}\n",
      'src/etag.ts':
        "import crypto from 'node:crypto';\nexport function etagFor(body: Buffer): string {\n  const etag = crypto.createHash('md5').update(body).digest('hex');\n  return `\"${etag}\"`;\n}\n",
      'tools/blob.py':
        'import hashlib\n\ndef git_blob_id(data: bytes) -> str:\n    header = b"blob %d\\0" % len(data)\n    return hashlib.sha1(header + data).hexdigest()\n',
      'svc/seal.go':
        'package svc\n\nimport (\n\t"crypto/cipher"\n\t"crypto/rand"\n\t"io"\n)\n\nfunc Seal(aead cipher.AEAD, msg []byte) ([]byte, error) {\n\tnonce := make([]byte, aead.NonceSize())\n\tif _, err := io.ReadFull(rand.Reader, nonce); err != nil {\n\t\treturn nil, err\n\t}\n\treturn aead.Seal(nonce, nonce, msg, nil), nil\n}\n',
    });
    assert.equal(run?.conclusion, 'success');
    assert.deepEqual(run?.annotations, []);
    assert.equal(reviews.length, 0, 'no review when there is nothing to say');
  });

  test('an inline suppression with a reason is honored and audited; one without a reason is not', async () => {
    const { run } = await open({
      'src/compat.ts':
        "import crypto from 'node:crypto';\nexport function legacyPasswordCheck(password: string) {\n  // palisade-ignore crypto/weak-password-hash: verifies old hashes once, then rehashes with scrypt (ticket SEC-42)\n  return crypto.createHash('md5').update(password).digest('hex');\n}\nexport function other(password: string) {\n  // palisade-ignore crypto/weak-password-hash:\n  return crypto.createHash('sha1').update(password).digest('hex');\n}\n",
    });
    assert.deepEqual(
      run?.annotations.map((a) => a.start_line),
      [8],
    );
    assert.match(run?.output.summary ?? '', /Suppressed \(1\)/);
    assert.match(run?.output.summary ?? '', /gives no reason, so the finding stands/);
    const [ev] = await w.t.db.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'github_finding.suppressed')
      .orderBy('seq', 'desc')
      .execute();
    const meta = JSON.parse(ev?.metadata ?? '{}');
    assert.deepEqual(
      [meta.ruleId, meta.path, meta.line, meta.source],
      ['crypto/weak-password-hash', 'src/compat.ts', 4, 'inline'],
    );
    assert.match(meta.reason, /SEC-42/);
  });

  test('a pull request cannot suppress its own findings through the repository file; the base branch file is honored', async () => {
    const file = JSON.stringify({
      suppressions: [
        { rule: 'crypto/insecure-random', paths: ['demo/**'], reason: 'demo data generators, never security values' },
      ],
    });
    const own = await open({
      '.palisade/suppressions.json': file,
      'demo/gen.py':
        'import random\n\ndef make_api_key():\n    return "".join(random.choice("abcdef0123456789") for _ in range(32))\n',
    });
    assert.equal(own.run?.annotations.length, 1, 'the file in the pull request itself is not honored');
    w.gh.commit('acme/payments', { '.palisade/suppressions.json': file });
    const onBase = await open({
      'demo/gen2.py':
        'import random\n\ndef make_api_key():\n    return "".join(random.choice("abcdef0123456789") for _ in range(32))\n',
    });
    assert.equal(onBase.run?.annotations.length, 0);
    assert.match(onBase.run?.output.summary ?? '', /repository_file/);
  });

  test('a credential added in a pull request is reported, and the diff tool redacts it', async () => {
    const { pr, run } = await open({ 'src/config.ts': `export const githubToken = "${GH_TOKEN}";\n` });
    assert.equal(run?.conclusion, 'failure');
    assert.deepEqual(
      run?.annotations.map((a) => [a.path, a.start_line, a.title]),
      [['src/config.ts', 1, 'secretlint/github']],
    );
    assert.ok(!JSON.stringify(w.gh.checkRuns).includes(GH_TOKEN), 'the check run never carries the secret');
    const diff = await w.owner.get(
      `/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}/pulls/${pr.number}/diff`,
    );
    assert.equal(diff.status, 200);
    assert.ok(!diff.raw.body.includes(GH_TOKEN));
    assert.equal(diff.body.files[0].redactedLines, 1);
  });

  test('binary files and symlinks in a pull request are counted, never parsed', async () => {
    const { run } = await open({
      'assets/icon.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 1, 2, 3]),
      'docs/link': { symlink: '../../../etc/passwd' },
      'src/ok.ts': 'export const ok = 1;\n',
    });
    assert.equal(run?.conclusion, 'success');
    assert.match(run?.output.summary ?? '', /1 binary/);
    assert.match(run?.output.summary ?? '', /1 symlinks/);
  });

  test('the diff tool withholds denied files', async () => {
    const { pr } = await open({
      '.env.production': 'DB_PASSWORD=hunter2hunter2\n',
      'src/x.ts': 'export const x = 2;\n',
    });
    const diff = await w.owner.get(
      `/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}/pulls/${pr.number}/diff`,
    );
    assert.equal(diff.status, 200);
    const env = diff.body.files.find((f: { path: string }) => f.path === '.env.production');
    assert.deepEqual(env.withheld, { reason: 'path_denied', rule: '.env*' });
    assert.equal(env.patch, null);
    assert.ok(!diff.raw.body.includes('hunter2'));
  });

  test('a huge diff is scanned up to its budget and the rest is reported, not dropped silently', async () => {
    const huge = `${'id,name,amount,currency,created_at,updated_at,notes\n'.repeat(360_000)}`;
    const { pr, run } = await open({
      'data/huge.csv': huge,
      'src/pay.ts':
        "import crypto from 'node:crypto';\nexport const c = crypto.createCipheriv('aes-128-ecb', key, null);\n",
    });
    assert.ok(huge.length > 16 * 1024 * 1024);
    assert.equal(run?.conclusion, 'failure');
    assert.deepEqual(
      run?.annotations.map((a) => a.title),
      ['crypto/ecb-mode'],
    );
    assert.match(run?.output.summary ?? '', /larger than 16 MiB/);
    const diff = await w.owner.get(
      `/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}/pulls/${pr.number}/diff`,
    );
    assert.equal(diff.status, 413);
    assert.equal(diff.body.error.code, 'diff_too_large');
  });

  test('scanning is off for a repository that turned it off', async () => {
    await w.owner.patch(`/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}`, { prScan: false });
    w.gh.commit('acme/payments', { 'src/y.ts': 'export const y = Math.random();\n' }, { branch: 'pr-off' });
    w.gh.openPullRequest('acme/payments', 'pr-off', 99);
    const res = await w.deliver('pull_request', w.gh.pullRequestPayload('acme/payments', 99, 'opened'));
    assert.equal(res.status, 200);
    assert.equal(res.body.queued, null);
    await w.owner.patch(`/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}`, { prScan: true });
  });

  test("model-assisted review is off by default; when on it goes to the organization's own upstream without denied files or secrets", async () => {
    const model = await startModelUpstream();
    try {
      await w.owner.request('PUT', `/api/v1/orgs/${w.orgId}/gateway/upstream`, {
        name: 'Acme model',
        kind: 'anthropic',
        baseUrl: model.url,
      });
      await open({ 'src/a.ts': 'export const a = 1;\n' });
      assert.equal(model.seen.length, 0, 'off by default: nothing sent');
      await w.owner.patch(`/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}`, { modelReview: true });
      const { run } = await open({
        'src/b.ts': `export const b = 2;\nexport const token = "${GH_TOKEN}";\n`,
        '.env.local': 'SECRET_VALUE=do-not-send\n',
      });
      assert.equal(model.seen.length, 1);
      const prompt = JSON.stringify(model.seen[0]?.body);
      assert.match(prompt, /export const b = 2/);
      assert.ok(!prompt.includes('do-not-send'), 'denied files are not sent');
      assert.ok(!prompt.includes(GH_TOKEN), 'credentials are redacted');
      assert.match(run?.output.summary ?? '', /Model-assisted review/);
    } finally {
      await model.close();
      await w.owner.patch(`/api/v1/orgs/${w.orgId}/github/repositories/${repositoryId}`, { modelReview: false });
    }
  });

  test("every SARIF log uploaded by these scans (suppressions, secrets, notes, fixes) passes Microsoft's validator", async () => {
    assert.ok(w.gh.sarifs.length >= 8);
    const kinds = new Set(
      w.gh.sarifs.flatMap((s) =>
        (
          (s.sarif.runs as { results: { suppressions?: unknown; fixes?: unknown; level: string }[] }[])[0]?.results ??
          []
        ).map((r) => (r.suppressions ? 'suppressed' : r.fixes ? 'fix' : r.level)),
      ),
    );
    for (const k of ['suppressed', 'fix', 'error']) assert.ok(kinds.has(k), `a log with a ${k} result was validated`);
    for (const s of w.gh.sarifs) {
      const v = await validateSarif(s.sarif);
      assert.deepEqual([...v.errors, ...v.warnings], [], `SARIF for ${String(s.body.ref)}`);
    }
  });
});
