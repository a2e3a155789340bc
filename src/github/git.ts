import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { PalisadeConfig } from '../config.js';
import { PalisadeError } from '../errors.js';
import { outboundPolicy, resolveAllowed } from '../net/outbound.js';
import { githubError } from './errors.js';

/**
 * Palisade's copies of allowlisted repositories: one bare clone per repository, fetched with real
 * git over HTTPS with an installation token, and read only through git plumbing (ls-tree, cat-file,
 * grep, diff) — never checked out. Nothing in a repository is a file on Palisade's disk, so a
 * symlink in it cannot point anywhere on this machine; it is a blob holding a path.
 *
 * Fetches obey the outbound policy like every other connection: the host is resolved and checked
 * once, and curl is pinned to the checked addresses (http.curloptResolve), redirects are not
 * followed, and only the http(s) transports are allowed. The token travels in an environment
 * variable (GIT_CONFIG_*), never on a command line another process could read.
 */
export interface GitRun {
  stdout: Buffer;
  stderr: string;
  code: number;
}

const SAFE_ENV = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_ASKPASS: '/bin/false',
  GIT_PROTOCOL_FROM_USER: '0',
  LC_ALL: 'C',
};

function gitEnv(extraConfig: [string, string][] = []): NodeJS.ProcessEnv {
  const base: [string, string][] = [
    ['protocol.allow', 'never'],
    ['protocol.https.allow', 'always'],
    ['protocol.http.allow', 'always'],
    ['http.followRedirects', 'false'],
    ['credential.helper', ''],
    ['core.hooksPath', '/dev/null'],
    ['gc.auto', '0'],
    ['core.quotePath', 'false'],
  ];
  const all = [...base, ...extraConfig];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    ...SAFE_ENV,
    GIT_CONFIG_COUNT: String(all.length),
  };
  all.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return env;
}

/** Runs git with arguments (no shell); output is capped so a huge diff or blob cannot exhaust memory. */
export function git(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; maxBytes?: number; input?: string; timeoutMs?: number } = {},
): Promise<GitRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', args, {
      cwd: opts.cwd ?? process.cwd(),
      env: opts.env ?? gitEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const max = opts.maxBytes ?? 64 * 1024 * 1024;
    const out: Buffer[] = [];
    let size = 0;
    let overflow = false;
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (c: Buffer) => {
      if (overflow) return;
      size += c.length;
      if (size > max) {
        overflow = true;
        child.kill('SIGKILL');
        return;
      }
      out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 8192) err += c.toString('utf8');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (overflow)
        return reject(Object.assign(new Error('git output exceeded its limit'), { code: 'GIT_OUTPUT_LIMIT' }));
      resolvePromise({ stdout: Buffer.concat(out), stderr: err, code: code ?? -1 });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export function mirrorDir(config: PalisadeConfig, orgId: string, repositoryId: string): string {
  if (!/^[a-z0-9_]+$/.test(orgId) || !/^[a-z0-9_]+$/.test(repositoryId)) throw new Error('unexpected id shape');
  return join(resolve(config.githubCacheDir), orgId, `${repositoryId}.git`);
}

const locks = new Map<string, Promise<unknown>>();
/** One fetch at a time per mirror in this process (the job lease covers other processes). */
async function withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(fn);
  locks.set(key, next);
  try {
    return await next;
  } finally {
    if (locks.get(key) === next) locks.delete(key);
  }
}

export interface FetchSpec {
  /** https://github.com/owner/repo.git (or the GitHub Enterprise Server equivalent). */
  url: string;
  token: string;
  /** Refspecs to fetch, e.g. +refs/heads/main:refs/heads/main. */
  refspecs: string[];
}

/** Creates the bare mirror when missing and fetches the given refs through the outbound policy. */
export async function fetchInto(config: PalisadeConfig, dir: string, spec: FetchSpec): Promise<void> {
  const url = new URL(spec.url);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && config.githubAllowHttp))
    throw githubError('github_git_failed', `Repositories are fetched over https:// only; ${url.protocol} was refused.`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const addresses = await resolveAllowed(outboundPolicy(config), host);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const pinned = addresses.map((a) => (a.family === 6 ? `[${a.address}]` : a.address)).join(',');
  const extra: [string, string][] = [
    ['http.extraHeader', `Authorization: Basic ${Buffer.from(`x-access-token:${spec.token}`).toString('base64')}`],
  ];
  if (!isIP(host)) extra.push(['http.curloptResolve', `${host}:${port}:${pinned}`]);
  await withLock(dir, async () => {
    if (!existsSync(join(dir, 'HEAD'))) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const init = await git(['init', '--bare', '--quiet', dir]);
      if (init.code !== 0)
        throw githubError(
          'github_git_failed',
          `Palisade could not create its copy of the repository (${init.stderr.trim().slice(0, 200)}). Check that PALISADE_GITHUB_CACHE_DIR is writable.`,
        );
    }
    const run = await git(
      [
        '-C',
        dir,
        'fetch',
        '--quiet',
        '--no-tags',
        '--force',
        '--no-write-fetch-head',
        '--',
        spec.url,
        ...spec.refspecs,
      ],
      { env: gitEnv(extra), timeoutMs: 600_000 },
    );
    if (run.code !== 0) {
      const why = run.stderr.replaceAll(spec.token, '[token]').trim().split('\n').slice(-2).join(' ').slice(0, 300);
      throw githubError(
        'github_git_failed',
        `Fetching ${url.pathname.replace(/^\//, '')} failed: ${why || `git exited with ${run.code}`}. Check that the App installation can read the repository.`,
      );
    }
  });
}

export interface TreeEntry {
  path: string;
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  sha: string;
  /** Bytes (blobs only). */
  size: number | null;
}

/** Tree entries under `path` at `commit` (one level, or every file with `recursive`). Paths are repository-relative. */
export async function lsTree(dir: string, commit: string, path: string, recursive: boolean): Promise<TreeEntry[]> {
  const args = ['-C', dir, 'ls-tree', '-z', '-l', ...(recursive ? ['-r'] : []), commit];
  if (path) args.push('--', recursive ? path : `${path}/`);
  const run = await git(args);
  if (run.code !== 0)
    throw new PalisadeError(
      502,
      'github_git_failed',
      'Reading the repository tree failed; retry, and if it persists report the request id.',
    );
  const out: TreeEntry[] = [];
  for (const rec of run.stdout.toString('utf8').split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode = '', type = '', sha = '', size = '-'] = rec.slice(0, tab).split(/\s+/);
    out.push({
      mode,
      type: type as TreeEntry['type'],
      sha,
      size: size === '-' ? null : Number(size),
      path: rec.slice(tab + 1),
    });
  }
  return out;
}

/** One tree entry (file, symlink, directory) at `path`, or null. */
export async function entryAt(dir: string, commit: string, path: string): Promise<TreeEntry | null> {
  const run = await git(['-C', dir, 'ls-tree', '-z', '-l', commit, '--', path]);
  if (run.code !== 0) return null;
  const rec = run.stdout
    .toString('utf8')
    .split('\0')
    .find((r) => r.endsWith(`\t${path}`));
  if (!rec) return null;
  const tab = rec.indexOf('\t');
  const [mode = '', type = '', sha = '', size = '-'] = rec.slice(0, tab).split(/\s+/);
  return { mode, type: type as TreeEntry['type'], sha, size: size === '-' ? null : Number(size), path };
}

export async function readBlob(dir: string, sha: string, maxBytes: number): Promise<Buffer> {
  const run = await git(['-C', dir, 'cat-file', 'blob', sha], { maxBytes });
  if (run.code !== 0)
    throw new PalisadeError(
      502,
      'github_git_failed',
      'Reading a file from the repository failed; retry, and if it persists report the request id.',
    );
  return run.stdout;
}

/** Reads blobs through `git cat-file --batch`, one process per batch of about 32 MiB (sizes from ls-tree), whole batch at a time. */
export async function* readBlobs(
  dir: string,
  shas: string[],
  sizes: ReadonlyMap<string, number> = new Map(),
): AsyncGenerator<{ sha: string; data: Buffer }> {
  const BATCH_BYTES = 32 * 1024 * 1024;
  for (let i = 0; i < shas.length;) {
    const batch: string[] = [];
    let bytes = 0;
    while (i < shas.length && (batch.length === 0 || bytes + (sizes.get(shas[i] as string) ?? 0) <= BATCH_BYTES)) {
      const sha = shas[i++] as string;
      batch.push(sha);
      bytes += sizes.get(sha) ?? 0;
    }
    const run = await git(['-C', dir, 'cat-file', '--batch'], {
      input: `${batch.join('\n')}\n`,
      maxBytes: bytes + batch.length * 128 + 64 * 1024 * 1024,
    });
    const out = run.stdout;
    let at = 0;
    while (at < out.length) {
      const nl = out.indexOf(10, at);
      if (nl < 0) break;
      const head = out.subarray(at, nl).toString('utf8').split(' ');
      at = nl + 1;
      if (head[1] === 'missing') continue;
      const size = Number(head[2]);
      yield { sha: head[0] ?? '', data: out.subarray(at, at + size) };
      at += size + 1;
    }
  }
}

export async function revParse(dir: string, ref: string): Promise<string | null> {
  const run = await git(['-C', dir, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return run.code === 0 ? run.stdout.toString('utf8').trim() : null;
}

/** A NUL byte in the first 8000 bytes: git's own test for binary content. */
export const isBinary = (data: Buffer): boolean => data.subarray(0, 8000).includes(0);
