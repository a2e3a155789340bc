import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { badRequest, notFound } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import { accessRefusal } from './allowlist.js';
import { DEFAULT_DENY_RULES } from './deny-rules.js';
import { RULES } from './rules/index.js';
import { listTree, readFile, readPullRequestDiff, searchCode } from './tools.js';

/**
 * What the workspace and the gateway need to offer the repository tools to a model: the
 * repositories this member may read, the tool definitions (JSON Schema, Anthropic `tools` shape),
 * and one dispatcher that runs a model's tool call through the same checked, audited operations
 * as the HTTP routes.
 */
export const RulesView = Type.Object({
  rules: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      severity: Type.String(),
      cwe: Type.String(),
      description: Type.String(),
      help: Type.String(),
      languages: Type.Array(Type.String()),
    }),
  ),
  defaultDenyRules: Type.Array(Type.String()),
});

export async function listRules(ctx: Ctx, orgId: string): Promise<Static<typeof RulesView>> {
  await authorize(ctx, orgId, 'github.use');
  return {
    rules: RULES.map((r) => ({
      id: r.id,
      name: r.name,
      severity: r.severity,
      cwe: r.cwe,
      description: r.short,
      help: r.help,
      languages: [...r.languages],
    })),
    defaultDenyRules: [...DEFAULT_DENY_RULES],
  };
}

const ToolDefinition = Type.Object({
  name: Type.String(),
  description: Type.String(),
  input_schema: Type.Record(Type.String(), Type.Unknown()),
});

export const REPOSITORY_TOOLS: Static<typeof ToolDefinition>[] = [
  {
    name: 'github_list_tree',
    description:
      'List one directory of an allowlisted GitHub repository (files that may hold credentials are withheld).',
    input_schema: {
      type: 'object',
      properties: {
        repository: { type: 'string', description: 'owner/name or the Palisade repository id' },
        path: { type: 'string', description: 'Directory relative to the root; empty for the root.' },
      },
      required: ['repository'],
    },
  },
  {
    name: 'github_read_file',
    description:
      'Read a text file of an allowlisted GitHub repository. Files matching a deny rule are refused with the rule named.',
    input_schema: {
      type: 'object',
      properties: { repository: { type: 'string' }, path: { type: 'string' } },
      required: ['repository', 'path'],
    },
  },
  {
    name: 'github_search_code',
    description: 'Search an allowlisted GitHub repository for a fixed string (case-insensitive).',
    input_schema: {
      type: 'object',
      properties: { repository: { type: 'string' }, query: { type: 'string' }, path: { type: 'string' } },
      required: ['repository', 'query'],
    },
  },
  {
    name: 'github_read_pull_request_diff',
    description: 'Read the diff of a pull request of an allowlisted GitHub repository.',
    input_schema: {
      type: 'object',
      properties: { repository: { type: 'string' }, number: { type: 'integer' } },
      required: ['repository', 'number'],
    },
  },
];

export const AccessibleRepositoriesView = Type.Object({
  repositories: Type.Array(
    Type.Object({ id: Type.String(), fullName: Type.String(), defaultBranch: Type.String(), commit: Type.String() }),
  ),
  tools: Type.Array(ToolDefinition),
});

export async function accessibleRepositories(
  ctx: Ctx,
  orgId: string,
): Promise<Static<typeof AccessibleRepositoriesView>> {
  const { role } = await authorize(ctx, orgId, 'github.use');
  const rows = await ctx.db
    .selectFrom('github_repositories')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('status', '=', 'enabled')
    .orderBy('full_name')
    .execute();
  const out: Static<typeof AccessibleRepositoriesView>['repositories'] = [];
  for (const r of rows)
    if (!(await accessRefusal(ctx.db, r, role, ctx.caller.kind === 'user' ? ctx.caller.userId : null)))
      out.push({ id: r.id, fullName: r.full_name, defaultBranch: r.default_branch, commit: r.scanned_sha ?? '' });
  return { repositories: out, tools: out.length ? REPOSITORY_TOOLS : [] };
}

/** Runs one tool call of a model (name + input as the model sent them). Errors are PalisadeErrors the caller turns into a tool_result with is_error. */
export async function runRepositoryTool(
  ctx: Ctx,
  orgId: string,
  name: string,
  input: Record<string, unknown>,
): Promise<unknown> {
  const repoRef = typeof input.repository === 'string' ? input.repository : '';
  const repo = await ctx.db
    .selectFrom('github_repositories')
    .select('id')
    .where('org_id', '=', orgId)
    .where((eb) => eb.or([eb('id', '=', repoRef), eb('full_name', '=', repoRef)]))
    .executeTakeFirst();
  if (!repo) throw notFound('allowlisted repository');
  const str = (k: string) => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
  switch (name) {
    case 'github_list_tree':
      return listTree(ctx, orgId, repo.id, str('path') ?? '');
    case 'github_read_file':
      return readFile(ctx, orgId, repo.id, str('path') ?? '');
    case 'github_search_code': {
      const q = str('query') ?? '';
      if (q.length < 2 || q.length > 200) throw badRequest('invalid_request', 'query must be 2 to 200 characters.');
      return searchCode(ctx, orgId, repo.id, { q, ...(str('path') ? { path: str('path') as string } : {}) });
    }
    case 'github_read_pull_request_diff': {
      const n = Number(input.number);
      if (!Number.isInteger(n) || n < 1) throw badRequest('invalid_request', 'number must be a pull request number.');
      return readPullRequestDiff(ctx, orgId, repo.id, n);
    }
    default:
      throw badRequest('unknown_tool', `There is no repository tool "${name.slice(0, 100)}".`);
  }
}
