import { posix } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import { accessRefusal } from './allowlist.js';
import type { GithubAuditAction } from './audit-actions.js';
import { recordGithubAudit } from './record-audit.js';
import { githubCallFailed, installationOctokit } from './connection.js';
import { type DenyRules, denyRulesFor } from './deny-rules.js';
import { diffCommits, parseUnifiedDiff } from './diff.js';
import { githubError } from './errors.js';
import { entryAt, git, isBinary, lsTree, mirrorDir, readBlob } from './git.js';
import { assertSafeRef, syncMirror } from './repo-scan.js';
import { scanText } from './secret-scan.js';
import { parseJsonList, repositoryById } from './store.js';
import type { GithubRepositoriesTable } from './tables.js';

/**
 * The repository tools — the only way the assistant reaches a repository: list a directory, read a
 * file, search code, read a pull request's diff. Each is a plain operation (the HTTP routes and,
 * once wired, the gateway's tool use call the same functions). Every call is checked, in order:
 * membership → allowlist entry → role/group narrowing → the repository's secret scan is clear →
 * the path is well-formed → no deny rule matches; and every call is audited with the repository,
 * the path and whether it was allowed — never the content.
 *
 * Reads serve the commit of the default branch that the last secret scan covered, so content
 * pushed since is not readable until it was scanned.
 */
const MAX_PATH = 1000;

/** A repository-relative path: no leading slash, no "." or ".." segment, no empty segment, no backslash or control character. */
export function normalizeToolPath(raw: string, allowRoot = false): string {
  const path = raw.replace(/\/+$/, '');
  if (path === '' && allowRoot) return '';
  const bad =
    path === ''
      ? 'is empty'
      : path.length > MAX_PATH
        ? `is longer than ${MAX_PATH} characters`
        : path.startsWith('/')
          ? 'starts with "/" (paths are relative to the repository root)'
          : /[\\\0-\x1f\x7f]/.test(path)
            ? 'contains a backslash or a control character'
            : path.split('/').some((s) => s === '' || s === '.' || s === '..')
              ? 'contains an empty, "." or ".." segment'
              : null;
  if (bad)
    throw githubError(
      'invalid_repository_path',
      `The path "${raw.slice(0, 200)}" ${bad}. Give a path relative to the repository root, such as src/index.ts.`,
      { path: raw.slice(0, 200) },
    );
  return path;
}

interface ToolTarget {
  repo: GithubRepositoriesTable;
  dir: string;
  commit: string;
  rules: DenyRules;
}

type Audit = { action: GithubAuditAction; path: string; metadata?: Record<string, unknown> };

async function audit(
  ctx: Ctx,
  repo: GithubRepositoriesTable,
  a: Audit,
  outcome: 'success' | 'denied' | 'failure',
  extra: Record<string, unknown> = {},
): Promise<void> {
  await ctx.db.transaction().execute((tx) =>
    recordGithubAudit(tx, ctx, {
      orgId: repo.org_id,
      action: a.action,
      outcome,
      targets: [{ type: 'github_repository', id: repo.id, name: repo.full_name }],
      metadata: {
        repository: repo.full_name,
        path: a.path,
        allowed: outcome === 'success',
        ...(a.metadata ?? {}),
        ...extra,
      },
    }),
  );
}

/** Refuses with `err` after auditing the refusal. */
async function refuse(
  ctx: Ctx,
  repo: GithubRepositoriesTable,
  a: Audit,
  err: PalisadeError,
  outcome: 'denied' | 'failure' = 'denied',
): Promise<never> {
  await audit(ctx, repo, a, outcome, { reason: err.code, ...(err.details?.rule ? { rule: err.details.rule } : {}) });
  throw err;
}

async function open(ctx: Ctx, orgId: string, repositoryId: string, a: Audit): Promise<ToolTarget> {
  const { role } = await authorize(ctx, orgId, 'github.use');
  const repo = await repositoryById(ctx.db, orgId, repositoryId);
  const refusal = await accessRefusal(ctx.db, repo, role, ctx.caller.kind === 'user' ? ctx.caller.userId : null);
  if (refusal) await refuse(ctx, repo, a, refusal);
  return {
    repo,
    dir: mirrorDir(ctx.config, orgId, repo.id),
    commit: repo.scanned_sha as string,
    rules: denyRulesFor(parseJsonList(repo.deny_rules) ?? []),
  };
}

function pathDenied(
  repo: GithubRepositoriesTable,
  path: string,
  rule: { rule: string; source: string },
  via?: string,
): PalisadeError {
  return githubError(
    'path_denied',
    `${via ? `"${path}" leads to "${via}", which` : `"${path}"`} is denied by the rule "${rule.rule}" (${rule.source === 'default' ? "Palisade's default deny set" : "this repository's deny rules"}) of ${repo.full_name}. Files that may hold credentials are not readable by the assistant; an admin can change the repository's deny rules if this file is safe.`,
    { path, rule: rule.rule, source: rule.source, ...(via ? { resolvedPath: via } : {}) },
  );
}

/** The rule denying `path` itself or, for a directory, its contents. */
const denyOf = (rules: DenyRules, path: string, isDir: boolean) =>
  rules.match(path) ?? (isDir ? rules.match(`${path}/`) : null);

export const TreeEntryView = Type.Object({
  path: Type.String(),
  type: Type.Union([
    Type.Literal('file'),
    Type.Literal('directory'),
    Type.Literal('symlink'),
    Type.Literal('submodule'),
  ]),
  size: Type.Union([Type.Integer(), Type.Null()]),
});
export const TreeView = Type.Object({
  repository: Type.String(),
  commit: Type.String(),
  path: Type.String(),
  entries: Type.Array(TreeEntryView),
  withheld: Type.Integer({ description: 'Entries left out because a deny rule matches them.' }),
});
export type TreeView = Static<typeof TreeView>;

export async function listTree(ctx: Ctx, orgId: string, repositoryId: string, rawPath: string): Promise<TreeView> {
  const a: Audit = { action: 'github_tree.listed', path: rawPath.slice(0, MAX_PATH) };
  const t = await open(ctx, orgId, repositoryId, a);
  let path: string;
  try {
    path = normalizeToolPath(rawPath, true);
  } catch (err) {
    return refuse(ctx, t.repo, a, err as PalisadeError);
  }
  if (path) {
    const denied = denyOf(t.rules, path, true);
    if (denied) await refuse(ctx, t.repo, a, pathDenied(t.repo, path, denied));
    const entry = await entryAt(t.dir, t.commit, path);
    if (!entry || entry.type !== 'tree')
      await refuse(
        ctx,
        t.repo,
        a,
        githubError(
          'file_not_found',
          `There is no directory "${path}" in ${t.repo.full_name} at ${t.commit.slice(0, 12)}.`,
        ),
        'failure',
      );
  }
  const entries = await lsTree(t.dir, t.commit, path, false);
  const shown: TreeView['entries'] = [];
  let withheld = 0;
  for (const e of entries) {
    const isDir = e.type === 'tree';
    if (denyOf(t.rules, e.path, isDir)) {
      withheld++;
      continue;
    }
    shown.push({
      path: e.path,
      type: isDir ? 'directory' : e.type === 'commit' ? 'submodule' : e.mode === '120000' ? 'symlink' : 'file',
      size: e.size,
    });
  }
  await audit(ctx, t.repo, { ...a, path }, 'success', { entries: shown.length, withheld });
  return { repository: t.repo.full_name, commit: t.commit, path, entries: shown, withheld };
}

export const FileView = Type.Object({
  repository: Type.String(),
  commit: Type.String(),
  path: Type.String(),
  resolvedPath: Type.Union([Type.String(), Type.Null()], {
    description: 'The file a symlink led to, when path is a symlink inside the repository.',
  }),
  size: Type.Integer(),
  content: Type.String(),
});
export type FileView = Static<typeof FileView>;

const MAX_SYMLINK_HOPS = 5;

export async function readFile(ctx: Ctx, orgId: string, repositoryId: string, rawPath: string): Promise<FileView> {
  const a: Audit = { action: 'github_file.read', path: rawPath.slice(0, MAX_PATH) };
  const t = await open(ctx, orgId, repositoryId, a);
  let path: string;
  try {
    path = normalizeToolPath(rawPath);
  } catch (err) {
    return refuse(ctx, t.repo, a, err as PalisadeError);
  }
  a.path = path;
  let current = path;
  let entry = null;
  for (let hop = 0; ; hop++) {
    const denied = denyOf(t.rules, current, false);
    if (denied) await refuse(ctx, t.repo, a, pathDenied(t.repo, path, denied, current === path ? undefined : current));
    entry = await entryAt(t.dir, t.commit, current);
    if (!entry)
      await refuse(
        ctx,
        t.repo,
        a,
        githubError(
          'file_not_found',
          `There is no file "${current}" in ${t.repo.full_name} at ${t.commit.slice(0, 12)}. List the directory to see what is there.`,
        ),
        'failure',
      );
    if (entry?.mode !== '120000') break;
    // A symlink is a blob holding a path: follow it only while it stays inside the repository, and check the rules again where it leads.
    const target = (await readBlob(t.dir, entry.sha, 4096)).toString('utf8');
    const resolved = posix.normalize(posix.join(posix.dirname(current), target));
    if (
      target.startsWith('/') ||
      resolved === '..' ||
      resolved.startsWith('../') ||
      resolved === '.' ||
      hop >= MAX_SYMLINK_HOPS
    ) {
      await refuse(
        ctx,
        t.repo,
        a,
        githubError(
          'symlink_outside_repository',
          `"${path}" is a symbolic link to "${target.slice(0, 200)}", which is outside the repository (or a chain of links); Palisade does not follow it.`,
          { path, target: target.slice(0, 200) },
        ),
      );
    }
    current = resolved;
  }
  if (!entry) throw githubError('file_not_found', 'Not found.');
  if (entry.type === 'tree')
    await refuse(
      ctx,
      t.repo,
      a,
      githubError('invalid_repository_path', `"${current}" is a directory; list it instead.`),
      'failure',
    );
  if (entry.type !== 'blob')
    await refuse(
      ctx,
      t.repo,
      a,
      githubError('file_not_found', `"${current}" is a submodule (another repository), not a file.`),
      'failure',
    );
  if ((entry.size ?? 0) > ctx.config.githubMaxFileBytes)
    await refuse(
      ctx,
      t.repo,
      a,
      githubError(
        'file_too_large',
        `"${current}" is ${entry.size} bytes; the tools return files up to ${ctx.config.githubMaxFileBytes} bytes. Search it instead.`,
        { size: entry.size },
      ),
      'failure',
    );
  const data = await readBlob(t.dir, entry.sha, ctx.config.githubMaxFileBytes + 1);
  if (isBinary(data))
    await refuse(
      ctx,
      t.repo,
      a,
      githubError('binary_file', `"${current}" is a binary file (${data.length} bytes); the tools return text only.`, {
        size: data.length,
      }),
      'failure',
    );
  await audit(ctx, t.repo, a, 'success', {
    bytes: data.length,
    ...(current !== path ? { resolvedPath: current } : {}),
  });
  return {
    repository: t.repo.full_name,
    commit: t.commit,
    path,
    resolvedPath: current === path ? null : current,
    size: data.length,
    content: data.toString('utf8'),
  };
}

export const SearchQuery = Type.Object({
  q: Type.Optional(
    Type.String({
      maxLength: 200,
      description: 'Text to find (fixed string, case-insensitive; 2 to 200 characters; required).',
    }),
  ),
  path: Type.Optional(Type.String({ maxLength: MAX_PATH, description: 'Limit to this directory.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'Most matches returned (default 50).' })),
});
export const SearchView = Type.Object({
  repository: Type.String(),
  commit: Type.String(),
  matches: Type.Array(Type.Object({ path: Type.String(), line: Type.Integer(), text: Type.String() })),
  withheldFiles: Type.Integer({ description: 'Files that matched but that a deny rule keeps from the assistant.' }),
  truncated: Type.Boolean(),
});
export type SearchView = Static<typeof SearchView>;

export async function searchCode(
  ctx: Ctx,
  orgId: string,
  repositoryId: string,
  query: Static<typeof SearchQuery>,
): Promise<SearchView> {
  const a: Audit = {
    action: 'github_code.searched',
    path: (query.path ?? '').slice(0, MAX_PATH),
    metadata: { queryLength: query.q?.length ?? 0 },
  };
  const t = await open(ctx, orgId, repositoryId, a);
  let path: string;
  try {
    path = normalizeToolPath(query.path ?? '', true);
  } catch (err) {
    return refuse(ctx, t.repo, a, err as PalisadeError);
  }
  if (path) {
    const denied = denyOf(t.rules, path, true);
    if (denied) await refuse(ctx, t.repo, a, pathDenied(t.repo, path, denied));
  }
  const q = query.q ?? '';
  if (q.length < 2)
    await refuse(
      ctx,
      t.repo,
      a,
      githubError('invalid_search_query', 'Give q, the text to find, of 2 to 200 characters.'),
      'failure',
    );
  const limit = query.limit ?? 50;
  const args = [
    '-C',
    t.dir,
    'grep',
    '-n',
    '-I',
    '-z',
    '-F',
    '-i',
    '--no-color',
    '--max-count=20',
    '-e',
    q,
    t.commit,
    '--',
  ];
  if (path) args.push(`:(literal)${path}`);
  const run = await git(args, { maxBytes: 8 * 1024 * 1024 }).catch((err: { code?: string }) => {
    if (err.code === 'GIT_OUTPUT_LIMIT') return { stdout: Buffer.alloc(0), stderr: '', code: 0, truncated: true };
    throw err;
  });
  const matches: SearchView['matches'] = [];
  const withheld = new Set<string>();
  let truncated = 'truncated' in run;
  const prefix = `${t.commit}:`;
  for (const rec of run.stdout.toString('utf8').split('\n')) {
    if (!rec) continue;
    const [where = '', line = '0', ...rest] = rec.split('\0');
    const file = where.startsWith(prefix) ? where.slice(prefix.length) : where;
    if (denyOf(t.rules, file, false)) {
      withheld.add(file);
      continue;
    }
    if (matches.length >= limit) {
      truncated = true;
      break;
    }
    matches.push({ path: file, line: Number(line), text: rest.join('\0').slice(0, 500) });
  }
  await audit(ctx, t.repo, { ...a, path }, 'success', { matches: matches.length, withheldFiles: withheld.size });
  return { repository: t.repo.full_name, commit: t.commit, matches, withheldFiles: withheld.size, truncated };
}

export const PullDiffView = Type.Object({
  repository: Type.String(),
  pullRequest: Type.Integer(),
  baseSha: Type.String(),
  headSha: Type.String(),
  files: Type.Array(
    Type.Object({
      path: Type.String(),
      previousPath: Type.Union([Type.String(), Type.Null()]),
      status: Type.String(),
      binary: Type.Boolean(),
      patch: Type.Union([Type.String(), Type.Null()], {
        description: 'null when withheld (deny rule, binary, or over the size budget).',
      }),
      withheld: Type.Union([
        Type.Object({ reason: Type.String(), rule: Type.Union([Type.String(), Type.Null()]) }),
        Type.Null(),
      ]),
      redactedLines: Type.Integer({ description: 'Added lines replaced because the secret scanner matched them.' }),
    }),
  ),
  truncated: Type.Boolean(),
});
export type PullDiffView = Static<typeof PullDiffView>;

const MAX_DIFF_BYTES = 4 * 1024 * 1024;
const MAX_TOOL_PATCH_BYTES = 512 * 1024;

/** Head and base of a pull request, from GitHub, fetched into the repository's clone. */
export async function fetchPullRequest(
  ctx: Ctx,
  repo: GithubRepositoriesTable,
  number: number,
): Promise<{ dir: string; base: string; head: string }> {
  const conn = await ctx.db
    .selectFrom('github_connections')
    .selectAll()
    .where('id', '=', repo.connection_id)
    .executeTakeFirstOrThrow();
  const octokit = await installationOctokit(ctx.db, ctx.config, conn, repo.installation_id);
  const [owner = '', name = ''] = repo.full_name.split('/');
  let pr: { base: { sha: string; ref: string }; head: { sha: string } };
  try {
    pr = (
      await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { owner, repo: name, pull_number: number })
    ).data as typeof pr;
  } catch (err) {
    if ((err as { status?: number }).status === 404)
      throw githubError('pull_request_not_found', `${repo.full_name} has no pull request #${number}.`);
    throw githubCallFailed(err, `reading pull request #${number}`);
  }
  const baseRef = assertSafeRef(pr.base.ref);
  const dir = await syncMirror(ctx, conn, repo, [
    `+refs/pull/${number}/head:refs/palisade/pull/${number}/head`,
    `+refs/heads/${baseRef}:refs/palisade/pull/${number}/base`,
  ]);
  return { dir, base: pr.base.sha, head: pr.head.sha };
}

export async function readPullRequestDiff(
  ctx: Ctx,
  orgId: string,
  repositoryId: string,
  number: number,
): Promise<PullDiffView> {
  const a: Audit = { action: 'github_pr_diff.read', path: '', metadata: { pullRequest: number } };
  const t = await open(ctx, orgId, repositoryId, a);
  const { dir, base, head } = await fetchPullRequest(ctx, t.repo, number);
  const diff = await diffCommits(dir, base, head, MAX_DIFF_BYTES);
  if (diff.truncated)
    await refuse(
      ctx,
      t.repo,
      a,
      githubError(
        'diff_too_large',
        `The diff of pull request #${number} is larger than ${MAX_DIFF_BYTES / 1024 / 1024} MiB; read the changed files one by one instead.`,
      ),
      'failure',
    );
  let budget = MAX_TOOL_PATCH_BYTES;
  let truncated = false;
  let withheldCount = 0;
  const files: PullDiffView['files'] = [];
  for (const f of parseUnifiedDiff(diff.text)) {
    const path = f.newPath ?? f.oldPath ?? '';
    const denied = [f.newPath, f.oldPath].map((p) => (p ? t.rules.match(p) : null)).find((d) => d);
    const base = { path, previousPath: f.status === 'renamed' ? f.oldPath : null, status: f.status, binary: f.binary };
    if (denied) {
      withheldCount++;
      files.push({ ...base, patch: null, withheld: { reason: 'path_denied', rule: denied.rule }, redactedLines: 0 });
      continue;
    }
    if (f.binary) {
      files.push({ ...base, patch: null, withheld: { reason: 'binary', rule: null }, redactedLines: 0 });
      continue;
    }
    if (Buffer.byteLength(f.patch) > budget) {
      truncated = true;
      files.push({ ...base, patch: null, withheld: { reason: 'size_budget', rule: null }, redactedLines: 0 });
      continue;
    }
    // Added lines the secret scanner matches are replaced: a pull request's new credential is not handed to the assistant.
    const hits = await scanText(path, f.patch);
    const lines = f.patch.split('\n');
    const hitLines = new Set(hits.map((h) => h.line - 1));
    let redactedLines = 0;
    const patch = lines
      .map((l, i) =>
        hitLines.has(i) && l.startsWith('+') ? (redactedLines++, '+[redacted by Palisade: possible credential]') : l,
      )
      .join('\n');
    budget -= Buffer.byteLength(patch);
    files.push({ ...base, patch, withheld: null, redactedLines });
  }
  await audit(ctx, t.repo, a, 'success', { files: files.length, withheldFiles: withheldCount, headSha: head });
  return { repository: t.repo.full_name, pullRequest: number, baseSha: base, headSha: head, files, truncated };
}
