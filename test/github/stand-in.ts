/**
 * A STAND-IN for GitHub, written for these tests — GitHub itself is not reachable from this machine.
 *
 * It is checked against what GitHub really sends: its JSON is built from, and compared with, the
 * recorded API responses of @octokit/fixtures (repository, errors) and the real webhook payloads of
 * @octokit/webhooks-examples (pull_request, push) — see test/github/stand-in.test.ts. Repositories are
 * real git repositories on disk, served for clone/fetch by git's own `git http-backend` (smart HTTP),
 * behind the installation-token Basic auth GitHub uses (x-access-token:<token>).
 *
 * API surface (GitHub Enterprise Server layout: REST under /api/v3, git at the root):
 *   GET  /app, /app/installations, /app/installations/:id            (App JWT, RS256, iss = app id)
 *   POST /app/installations/:id/access_tokens                          (App JWT)
 *   GET  /installation/repositories, /repos/:o/:r, /repos/:o/:r/pulls/:n (installation token)
 *   POST /repos/:o/:r/check-runs, PATCH /repos/:o/:r/check-runs/:id
 *   POST /repos/:o/:r/pulls/:n/reviews  (422 when a comment is not on a line of the diff, like GitHub)
 *   POST /repos/:o/:r/code-scanning/sarifs (gzip + base64 SARIF, must be version 2.1.0)
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { jwtVerify } from 'jose';

const require = createRequire(import.meta.url);
const REPO_FIXTURE = (
  require('@octokit/fixtures/scenarios/api.github.com/get-repository/normalized-fixture.json') as {
    response: Record<string, unknown>;
  }[]
)[0]!.response;
const EXAMPLES = require('@octokit/webhooks-examples/api.github.com/index.json') as {
  name: string;
  examples: Record<string, unknown>[];
}[];
export const exampleOf = (event: string, action?: string): Record<string, unknown> => {
  const list = EXAMPLES.find((e) => e.name === event)?.examples ?? [];
  const ex = action ? list.find((x) => x.action === action) : list[0];
  if (!ex) throw new Error(`no ${event}/${action} example`);
  return structuredClone(ex);
};

export type FileSpec = string | Buffer | { symlink: string } | null;

interface Repo {
  id: number;
  owner: string;
  name: string;
  dir: string;
  defaultBranch: string;
  installationId: number;
  private: boolean;
}

interface Pull {
  number: number;
  headRef: string;
  baseRef: string;
  headSha: string;
  baseSha: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  auth: string;
  body: unknown;
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Stand-in',
  GIT_AUTHOR_EMAIL: 'stand-in@example.test',
  GIT_COMMITTER_NAME: 'Stand-in',
  GIT_COMMITTER_EMAIL: 'stand-in@example.test',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: '/nonexistent',
  PATH: process.env.PATH ?? '/usr/bin:/bin',
};

function gitIn(dir: string, args: string[]): string {
  const r = spawnSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

export class GitHubStandIn {
  readonly appId = String(100000 + Math.floor(Math.random() * 800000));
  readonly privateKey: string;
  readonly webhookSecret = randomBytes(24).toString('hex');
  readonly root = mkdtempSync(join(tmpdir(), 'gh-stand-in-'));
  url = '';
  readonly requests: RecordedRequest[] = [];
  readonly checkRuns: Record<string, unknown>[] = [];
  readonly reviews: { repo: string; number: number; body: Record<string, unknown> }[] = [];
  readonly sarifs: { repo: string; body: Record<string, unknown>; sarif: Record<string, unknown> }[] = [];
  readonly gitFetches: { repo: string; auth: boolean }[] = [];
  readonly installations = new Map<number, { login: string; type: 'Organization' | 'User' }>();
  private readonly tokens = new Map<string, { installationId: number; expires: number }>();
  private readonly repos = new Map<string, Repo>();
  private readonly pulls = new Map<string, Pull>();
  private server = createServer((req, res) => void this.handle(req, res));
  private nextId = 5000;

  constructor() {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    this.privateKey = privateKey;
  }

  get apiBase(): string {
    return `${this.url}/api/v3`;
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    rmSync(this.root, { recursive: true, force: true });
  }

  addInstallation(login: string): number {
    const id = this.nextId++;
    this.installations.set(id, { login, type: 'Organization' });
    return id;
  }

  /** A real git repository with one commit of `files` on `main`. */
  createRepo(
    fullName: string,
    installationId: number,
    files: Record<string, FileSpec>,
    opts: { defaultBranch?: string } = {},
  ): string {
    const [owner = '', name = ''] = fullName.split('/');
    const dir = join(this.root, 'repos', owner, `${name}.git`);
    mkdirSync(dir, { recursive: true });
    const branch = opts.defaultBranch ?? 'main';
    gitIn(dir, ['init', '-q', '-b', branch]);
    gitIn(dir, ['config', 'uploadpack.allowReachableSHA1InWant', 'true']);
    this.repos.set(fullName, {
      id: this.nextId++,
      owner,
      name,
      dir,
      defaultBranch: branch,
      installationId,
      private: true,
    });
    return this.commit(fullName, files, { branch, message: 'initial commit' });
  }

  repo(fullName: string): Repo {
    const r = this.repos.get(fullName);
    if (!r) throw new Error(`no repo ${fullName}`);
    return r;
  }

  /** Commits `files` (null deletes, { symlink } links) on `branch` (created from `from` when new). Returns the commit id. */
  commit(
    fullName: string,
    files: Record<string, FileSpec>,
    opts: { branch?: string; from?: string; message?: string } = {},
  ): string {
    const r = this.repo(fullName);
    const branch = opts.branch ?? r.defaultBranch;
    const exists =
      spawnSync('git', ['rev-parse', '--verify', '-q', `refs/heads/${branch}`], { cwd: r.dir, env: GIT_ENV }).status ===
      0;
    const hasHead =
      spawnSync('git', ['rev-parse', '--verify', '-q', 'HEAD'], { cwd: r.dir, env: GIT_ENV }).status === 0;
    if (hasHead)
      gitIn(
        r.dir,
        exists ? ['checkout', '-q', branch] : ['checkout', '-q', '-b', branch, opts.from ?? r.defaultBranch],
      );
    for (const [path, spec] of Object.entries(files)) {
      const full = join(r.dir, path);
      mkdirSync(dirname(full), { recursive: true });
      try {
        unlinkSync(full);
      } catch {
        /* new file */
      }
      if (spec === null) continue;
      if (typeof spec === 'object' && !Buffer.isBuffer(spec)) symlinkSync(spec.symlink, full);
      else writeFileSync(full, spec);
    }
    gitIn(r.dir, ['add', '-A']);
    gitIn(r.dir, ['commit', '-q', '--allow-empty', '-m', opts.message ?? 'change']);
    const sha = gitIn(r.dir, ['rev-parse', 'HEAD']);
    if (hasHead) gitIn(r.dir, ['checkout', '-q', r.defaultBranch]);
    return sha;
  }

  /** Opens (or updates, after new commits on `head`) a pull request: refs/pull/N/head like GitHub keeps it. */
  openPullRequest(fullName: string, head: string, number?: number): Pull {
    const r = this.repo(fullName);
    const n = number ?? this.nextId++;
    const pr: Pull = {
      number: n,
      headRef: head,
      baseRef: r.defaultBranch,
      headSha: gitIn(r.dir, ['rev-parse', `refs/heads/${head}`]),
      baseSha: gitIn(r.dir, ['rev-parse', `refs/heads/${r.defaultBranch}`]),
    };
    gitIn(r.dir, ['update-ref', `refs/pull/${n}/head`, pr.headSha]);
    this.pulls.set(`${fullName}#${n}`, pr);
    return pr;
  }

  /** A real pull_request payload (webhooks-examples) with this repository, pull request and installation in it. */
  pullRequestPayload(
    fullName: string,
    number: number,
    action: 'opened' | 'synchronize' | 'reopened' | 'closed',
  ): Record<string, unknown> {
    const pr = this.pulls.get(`${fullName}#${number}`);
    if (!pr) throw new Error('no such pull request');
    const p = exampleOf('pull_request', action);
    const repository = this.webhookRepository(fullName, p.repository as Record<string, unknown>);
    const pull = p.pull_request as Record<string, unknown> & {
      head: Record<string, unknown>;
      base: Record<string, unknown>;
    };
    Object.assign(pull, { number, state: 'open', url: `${this.apiBase}/repos/${fullName}/pulls/${number}` });
    Object.assign(pull.head, {
      sha: pr.headSha,
      ref: pr.headRef,
      label: `${fullName.split('/')[0]}:${pr.headRef}`,
      repo: this.webhookRepository(fullName, pull.head.repo as Record<string, unknown>),
    });
    Object.assign(pull.base, {
      sha: pr.baseSha,
      ref: pr.baseRef,
      label: `${fullName.split('/')[0]}:${pr.baseRef}`,
      repo: this.webhookRepository(fullName, pull.base.repo as Record<string, unknown>),
    });
    return {
      ...p,
      number,
      pull_request: pull,
      repository,
      installation: { id: this.repo(fullName).installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==' },
    };
  }

  /** A real push payload (webhooks-examples) for the current tip of `branch`. */
  pushPayload(fullName: string, branch: string, before: string): Record<string, unknown> {
    const r = this.repo(fullName);
    const p = exampleOf('push');
    const after = gitIn(r.dir, ['rev-parse', `refs/heads/${branch}`]);
    return {
      ...p,
      ref: `refs/heads/${branch}`,
      before,
      after,
      repository: this.webhookRepository(fullName, p.repository as Record<string, unknown>),
      installation: { id: r.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==' },
    };
  }

  private webhookRepository(fullName: string, template: Record<string, unknown>): Record<string, unknown> {
    const r = this.repo(fullName);
    return {
      ...template,
      id: r.id,
      name: r.name,
      full_name: fullName,
      default_branch: r.defaultBranch,
      private: r.private,
      owner: { ...(template.owner as object), login: r.owner },
    };
  }

  /** Signs a delivery the way GitHub does: X-Hub-Signature-256 = sha256=HMAC-SHA256(secret, body). */
  signedDelivery(
    event: string,
    payload: unknown,
    opts: { deliveryId?: string; secret?: string } = {},
  ): { headers: Record<string, string>; body: string } {
    const body = JSON.stringify(payload);
    const sig = createHmac('sha256', opts.secret ?? this.webhookSecret)
      .update(body)
      .digest('hex');
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': opts.deliveryId ?? crypto.randomUUID(),
        'x-hub-signature-256': `sha256=${sig}`,
        'user-agent': 'GitHub-Hookshot/stand-in',
      },
    };
  }

  /** The repository object as GET /repos/:o/:r answers: the recorded fixture with this repository's values. */
  repositoryJson(r: Repo): Record<string, unknown> {
    const full = `${r.owner}/${r.name}`;
    return {
      ...structuredClone(REPO_FIXTURE),
      id: r.id,
      name: r.name,
      full_name: full,
      private: r.private,
      default_branch: r.defaultBranch,
      clone_url: `${this.url}/${full}.git`,
      url: `${this.apiBase}/repos/${full}`,
      owner: { ...(REPO_FIXTURE.owner as object), login: r.owner },
    };
  }

  // --- HTTP -------------------------------------------------------------------------------------

  private send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
    });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, message: string): void {
    this.send(res, status, { message, documentation_url: 'https://docs.github.com/rest' });
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private async appAuth(req: IncomingMessage): Promise<boolean> {
    const m = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    try {
      const { payload } = await jwtVerify(m[1] as string, createPublicKey(this.privateKey), { algorithms: ['RS256'] });
      return String(payload.iss) === this.appId;
    } catch {
      return false;
    }
  }

  private tokenAuth(header: string | undefined): number | null {
    const m = /^(?:token|Bearer) (.+)$/i.exec(header ?? '');
    const t = m ? this.tokens.get(m[1] as string) : undefined;
    return t && t.expires > Date.now() ? t.installationId : null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    if (!url.pathname.startsWith('/api/v3/')) return this.git(req, res, url);
    const path = url.pathname.slice('/api/v3'.length);
    const raw = await this.readBody(req);
    let body: Record<string, unknown> = {};
    try {
      body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      return this.error(res, 400, 'Problems parsing JSON');
    }
    this.requests.push({
      method: req.method ?? '',
      path,
      auth: (req.headers.authorization ?? '').split(' ')[0] ?? '',
      body,
    });
    const method = req.method ?? 'GET';
    if (path.startsWith('/app')) {
      if (!(await this.appAuth(req))) return this.error(res, 401, 'A JSON web token could not be decoded');
      if (method === 'GET' && path === '/app')
        return this.send(res, 200, {
          id: Number(this.appId),
          slug: 'palisade-test-app',
          name: 'Palisade test app',
          owner: { login: 'stand-in' },
        });
      if (method === 'GET' && path === '/app/installations')
        return this.send(
          res,
          200,
          [...this.installations].map(([id, a]) => ({
            id,
            account: { login: a.login, type: a.type },
            app_id: Number(this.appId),
            target_type: a.type,
          })),
        );
      const inst = /^\/app\/installations\/(\d+)(\/access_tokens)?$/.exec(path);
      const account = inst ? this.installations.get(Number(inst[1])) : undefined;
      if (!inst || !account) return this.error(res, 404, 'Not Found');
      if (!inst[2] && method === 'GET')
        return this.send(res, 200, {
          id: Number(inst[1]),
          account: { login: account.login, type: account.type },
          app_id: Number(this.appId),
          target_type: account.type,
        });
      if (inst[2] && method === 'POST') {
        const token = `ghs_${randomBytes(18).toString('hex')}`;
        const expires = Date.now() + 3600_000;
        this.tokens.set(token, { installationId: Number(inst[1]), expires });
        return this.send(res, 201, {
          token,
          expires_at: new Date(expires).toISOString().replace(/\.\d+Z$/, 'Z'),
          permissions: { contents: 'read', checks: 'write', pull_requests: 'write', security_events: 'write' },
          repository_selection: 'selected',
        });
      }
      return this.error(res, 404, 'Not Found');
    }
    const installationId = this.tokenAuth(req.headers.authorization);
    if (installationId === null) return this.error(res, 401, 'Bad credentials');
    if (method === 'GET' && path === '/installation/repositories') {
      const repos = [...this.repos.values()]
        .filter((r) => r.installationId === installationId)
        .map((r) => this.repositoryJson(r));
      return this.send(res, 200, { total_count: repos.length, repository_selection: 'selected', repositories: repos });
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    const repo = m ? this.repos.get(`${m[1]}/${m[2]}`) : undefined;
    if (!m || !repo || repo.installationId !== installationId) return this.error(res, 404, 'Not Found');
    const full = `${repo.owner}/${repo.name}`;
    const rest = m[3] ?? '';
    if (method === 'GET' && rest === '') return this.send(res, 200, this.repositoryJson(repo));
    const pull = /^\/pulls\/(\d+)(\/reviews)?$/.exec(rest);
    if (pull) {
      const pr = this.pulls.get(`${full}#${pull[1]}`);
      if (!pr) return this.error(res, 404, 'Not Found');
      if (method === 'GET' && !pull[2])
        return this.send(
          res,
          200,
          (this.pullRequestPayload(full, pr.number, 'opened') as { pull_request: unknown }).pull_request,
        );
      if (method === 'POST' && pull[2]) {
        // Like GitHub: every comment must sit on a line of the pull request's diff (right side).
        const lines = this.diffLines(repo.dir, pr);
        for (const c of (body.comments as { path: string; line: number; side?: string }[] | undefined) ?? []) {
          if (!lines.get(c.path)?.has(c.line))
            return this.send(res, 422, {
              message: 'Unprocessable Entity',
              errors: ['Line could not be resolved'],
              documentation_url: 'https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request',
            });
        }
        this.reviews.push({ repo: full, number: pr.number, body });
        return this.send(res, 200, {
          id: this.nextId++,
          state: 'COMMENTED',
          commit_id: body.commit_id,
          body: body.body,
        });
      }
    }
    if (method === 'POST' && rest === '/check-runs') {
      const output = body.output as { annotations?: { annotation_level: string }[] } | undefined;
      if (typeof body.name !== 'string' || typeof body.head_sha !== 'string')
        return this.send(res, 422, {
          message: 'Invalid request.',
          documentation_url: 'https://docs.github.com/rest/checks/runs',
        });
      if (
        (output?.annotations?.length ?? 0) > 50 ||
        output?.annotations?.some((a) => !['notice', 'warning', 'failure'].includes(a.annotation_level))
      )
        return this.send(res, 422, { message: 'Invalid request.\n\nOnly 50 annotations are allowed per request.' });
      const run = { id: this.nextId++, ...body, annotations: [...(output?.annotations ?? [])] };
      this.checkRuns.push(run);
      return this.send(res, 201, {
        id: run.id,
        head_sha: body.head_sha,
        status: body.status ?? 'queued',
        conclusion: body.conclusion ?? null,
        name: body.name,
      });
    }
    const patch = /^\/check-runs\/(\d+)$/.exec(rest);
    if (method === 'PATCH' && patch) {
      const run = this.checkRuns.find((r) => r.id === Number(patch[1]));
      if (!run) return this.error(res, 404, 'Not Found');
      const more = (body.output as { annotations?: unknown[] } | undefined)?.annotations ?? [];
      if (more.length > 50) return this.send(res, 422, { message: 'Only 50 annotations are allowed per request.' });
      (run.annotations as unknown[]).push(...more);
      return this.send(res, 200, { id: run.id });
    }
    if (method === 'POST' && rest === '/code-scanning/sarifs') {
      let sarif: Record<string, unknown>;
      try {
        sarif = JSON.parse(gunzipSync(Buffer.from(String(body.sarif), 'base64')).toString('utf8')) as Record<
          string,
          unknown
        >;
      } catch {
        return this.send(res, 400, { message: 'Invalid SARIF: not gzip-compressed and base64-encoded JSON' });
      }
      if (sarif.version !== '2.1.0' || !/^[0-9a-f]{40}$/.test(String(body.commit_sha)) || typeof body.ref !== 'string')
        return this.send(res, 400, { message: 'Invalid request' });
      const id = randomBytes(16).toString('hex');
      this.sarifs.push({ repo: full, body, sarif });
      return this.send(res, 202, { id, url: `${this.apiBase}/repos/${full}/code-scanning/sarifs/${id}` });
    }
    return this.error(res, 404, 'Not Found');
  }

  /** New-side line numbers shown in the diff of a pull request, per file (what GitHub lets a review comment on). */
  diffLines(dir: string, pr: Pull): Map<string, Set<number>> {
    const out = new Map<string, Set<number>>();
    const diff = spawnSync('git', ['diff', '--no-color', '--unified=3', `${pr.baseSha}...${pr.headSha}`], {
      cwd: dir,
      env: GIT_ENV,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    }).stdout;
    let file = '';
    let line = 0;
    for (const l of diff.split('\n')) {
      if (l.startsWith('+++ ')) file = l.slice(4).replace(/^b\//, '');
      else if (l.startsWith('@@')) line = Number(/\+(\d+)/.exec(l)?.[1] ?? 0);
      else if (file && (l.startsWith('+') || l.startsWith(' '))) {
        if (!out.has(file)) out.set(file, new Set());
        out.get(file)?.add(line++);
      }
    }
    return out;
  }

  /** Smart HTTP through git's own http-backend, for repositories an installation token may read. */
  private git(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const m = /^\/([^/]+)\/([^/]+?)\.git(\/.*)$/.exec(url.pathname);
    const repo = m ? this.repos.get(`${m[1]}/${m[2]}`) : undefined;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [user, token] = basic
      ? Buffer.from(basic[1] as string, 'base64')
          .toString('utf8')
          .split(':')
      : [];
    const installation = user === 'x-access-token' ? this.tokenAuth(`token ${token}`) : null;
    this.gitFetches.push({ repo: m ? `${m[1]}/${m[2]}` : url.pathname, auth: installation !== null });
    if (!m || !repo) {
      res.writeHead(404).end('Repository not found.');
      return;
    }
    if (installation === null || installation !== repo.installationId) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' }).end('Invalid username or token.');
      return;
    }
    const child = spawn('/usr/lib/git-core/git-http-backend', [], {
      env: {
        ...GIT_ENV,
        GIT_PROJECT_ROOT: join(this.root, 'repos'),
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: `/${m[1]}/${m[2]}.git/.git${m[3]}`,
        REQUEST_METHOD: req.method ?? 'GET',
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
      },
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    child.stdout.on('data', (c: Buffer) => {
      if (started) return void res.write(c);
      head = Buffer.concat([head, c]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString('utf8').split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      started = true;
      res.write(head.subarray(end + 4));
    });
    child.on('close', () => res.end());
  }
}
