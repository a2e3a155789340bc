import { rm } from 'node:fs/promises';
import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import type { Queryable, Role, Tx } from '../db/schema.js';
import { ROLES } from '../db/schema.js';
import { PalisadeError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { authorize } from '../orgs/authorize.js';
import { recordGithubAudit } from './record-audit.js';
import { type GithubRepositoryInfo, githubCallFailed, installationOctokit } from './connection.js';
import { denyRulesFor, validateDenyRules } from './deny-rules.js';
import { githubError } from './errors.js';
import { mirrorDir } from './git.js';
import { enqueueGithubJob } from './jobs.js';
import { compilePatterns } from './secret-scan.js';
import { connectionById, parseJsonList, repositoryById } from './store.js';
import type { GithubRepositoriesTable, RepositoryStatus } from './tables.js';
import { type RepositoryView, SecretPatternSchema, repositoryView } from './views.js';

const RoleName = Type.Union(ROLES.map((r) => Type.Literal(r)));
const AccessSchema = Type.Object(
  {
    roles: Type.Optional(
      Type.Union([Type.Array(RoleName, { minItems: 1, uniqueItems: true }), Type.Null()], {
        description: 'Roles whose members may use the repository; null or absent: every role.',
      }),
    ),
    groups: Type.Optional(
      Type.Union(
        [
          Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 100, uniqueItems: true }),
          Type.Null(),
        ],
        {
          description:
            'SCIM groups (display names) or SSO group claims; a member must be in at least one. null or absent: no group needed.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const AllowlistRepositoryInput = Type.Object(
  {
    connectionId: Type.String({ maxLength: 64 }),
    installationId: Type.String({ pattern: '^[0-9]{1,20}$' }),
    fullName: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$', description: 'owner/name' }),
    access: Type.Optional(AccessSchema),
    denyRules: Type.Optional(
      Type.Array(Type.String({ maxLength: 300 }), {
        maxItems: 200,
        description: 'gitignore-style patterns added to the default deny set; "!pattern" re-allows.',
      }),
    ),
    secretPatterns: Type.Optional(Type.Array(SecretPatternSchema, { maxItems: 50 })),
    prScan: Type.Optional(Type.Boolean({ description: 'Scan pull requests (default true).' })),
    modelReview: Type.Optional(
      Type.Boolean({
        description: "Also ask the organization's own gateway model to review pull requests (default false).",
      }),
    ),
  },
  { additionalProperties: false },
);
export type AllowlistRepositoryInput = Static<typeof AllowlistRepositoryInput>;

export const UpdateRepositoryInput = Type.Object(
  {
    access: Type.Optional(AccessSchema),
    denyRules: AllowlistRepositoryInput.properties.denyRules,
    secretPatterns: AllowlistRepositoryInput.properties.secretPatterns,
    prScan: Type.Optional(Type.Boolean()),
    modelReview: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateRepositoryInput = Static<typeof UpdateRepositoryInput>;

async function openCount(db: Queryable, repositoryId: string): Promise<number> {
  const r = await db
    .selectFrom('github_findings')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('repository_id', '=', repositoryId)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/**
 * Open findings not covered by a deny rule keep a repository blocked. Called after every scan,
 * acknowledgement and deny-rule change, inside their transaction.
 */
export async function settleStatus(
  tx: Tx,
  repo: GithubRepositoriesTable,
): Promise<{ status: RepositoryStatus; blocking: number }> {
  if (repo.scanned_sha === null) return { status: 'pending_scan', blocking: 0 };
  const rules = denyRulesFor(parseJsonList(repo.deny_rules) ?? []);
  const open = await tx
    .selectFrom('github_findings')
    .select('path')
    .where('repository_id', '=', repo.id)
    .where('status', '=', 'open')
    .execute();
  const blocking = open.filter((f) => !rules.match(f.path)).length;
  const status: RepositoryStatus = blocking ? 'blocked' : 'enabled';
  if (status !== repo.status)
    await tx.updateTable('github_repositories').set({ status }).where('id', '=', repo.id).execute();
  return { status, blocking };
}

export async function allowlistRepository(
  ctx: Ctx,
  orgId: string,
  input: AllowlistRepositoryInput,
): Promise<RepositoryView> {
  await authorize(ctx, orgId, 'github.manage');
  const conn = await connectionById(ctx.db, orgId, input.connectionId);
  const inst = await ctx.db
    .selectFrom('github_installations')
    .select('id')
    .where('connection_id', '=', conn.id)
    .where('installation_id', '=', input.installationId)
    .executeTakeFirst();
  if (!inst)
    throw githubError(
      'github_installation_not_found',
      `Installation ${input.installationId} is not picked for this connection. Add it first with POST …/github/connections/${conn.id}/installations.`,
    );
  const denyRules = validateDenyRules(input.denyRules ?? []);
  const secretPatterns = input.secretPatterns ?? [];
  compilePatterns(secretPatterns);
  const octokit = await installationOctokit(ctx.db, ctx.config, conn, input.installationId);
  const [owner = '', name = ''] = input.fullName.split('/');
  let info: GithubRepositoryInfo;
  try {
    info = (await octokit.request('GET /repos/{owner}/{repo}', { owner, repo: name })).data as GithubRepositoryInfo;
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 404 || status === 403)
      throw githubError(
        'github_repository_not_in_installation',
        `Installation ${input.installationId} cannot read ${input.fullName}. Grant the App access to that repository on GitHub, or pick the installation that has it.`,
      );
    throw githubCallFailed(err, `reading ${input.fullName}`);
  }
  const now = ctx.clock.now();
  const at = now.toISOString();
  const row: GithubRepositoriesTable = {
    id: newId('ghr', now),
    org_id: orgId,
    connection_id: conn.id,
    installation_id: input.installationId,
    github_id: String(info.id),
    full_name: info.full_name,
    default_branch: info.default_branch ?? 'main',
    status: 'pending_scan',
    allowed_roles: input.access?.roles ? JSON.stringify(input.access.roles) : null,
    allowed_groups: input.access?.groups ? JSON.stringify(input.access.groups) : null,
    deny_rules: JSON.stringify(denyRules),
    secret_patterns: JSON.stringify(secretPatterns),
    pr_scan: input.prScan === false ? 0 : 1,
    model_review: input.modelReview ? 1 : 0,
    scanned_sha: null,
    scanned_at: null,
    scan_error: null,
    created_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null,
    created_at: at,
    updated_at: at,
  };
  return ctx.db.transaction().execute(async (tx) => {
    const dup = await tx
      .selectFrom('github_repositories')
      .select('id')
      .where('org_id', '=', orgId)
      .where('connection_id', '=', conn.id)
      .where('github_id', '=', row.github_id)
      .executeTakeFirst();
    if (dup)
      throw githubError(
        'github_repository_already_allowlisted',
        `${info.full_name} is already on the allowlist (${dup.id}); change it with PATCH …/github/repositories/${dup.id}.`,
        { repositoryId: dup.id },
      );
    await tx.insertInto('github_repositories').values(row).execute();
    await recordGithubAudit(tx, ctx, {
      orgId,
      action: 'github_repository.allowlisted',
      targets: [{ type: 'github_repository', id: row.id, name: row.full_name }],
      metadata: {
        connectionId: conn.id,
        installationId: input.installationId,
        githubId: row.github_id,
        roles: input.access?.roles ?? null,
        groups: input.access?.groups ?? null,
        denyRules,
        prScan: row.pr_scan === 1,
        modelReview: row.model_review === 1,
      },
    });
    await enqueueGithubJob(tx, ctx.clock.now(), {
      orgId,
      repositoryId: row.id,
      kind: 'repository_scan',
      payload: { reason: 'allowlisted' },
    });
    return repositoryView(row, 0);
  });
}

export async function listRepositories(ctx: Ctx, orgId: string): Promise<{ data: RepositoryView[] }> {
  await authorize(ctx, orgId, 'github.manage');
  const rows = await ctx.db
    .selectFrom('github_repositories')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('id')
    .execute();
  return { data: await Promise.all(rows.map(async (r) => repositoryView(r, await openCount(ctx.db, r.id)))) };
}

export async function getRepository(ctx: Ctx, orgId: string, repositoryId: string): Promise<RepositoryView> {
  await authorize(ctx, orgId, 'github.manage');
  const r = await repositoryById(ctx.db, orgId, repositoryId);
  return repositoryView(r, await openCount(ctx.db, r.id));
}

export async function updateRepository(
  ctx: Ctx,
  orgId: string,
  repositoryId: string,
  input: UpdateRepositoryInput,
): Promise<RepositoryView> {
  await authorize(ctx, orgId, 'github.manage');
  const denyRules = input.denyRules ? validateDenyRules(input.denyRules) : undefined;
  if (input.secretPatterns) compilePatterns(input.secretPatterns);
  return ctx.db.transaction().execute(async (tx) => {
    const repo = await repositoryById(tx, orgId, repositoryId);
    const set: Partial<GithubRepositoriesTable> = { updated_at: ctx.clock.now().toISOString() };
    const changes: Record<string, unknown> = {};
    if (input.access) {
      if (input.access.roles !== undefined)
        set.allowed_roles = input.access.roles ? JSON.stringify(input.access.roles) : null;
      if (input.access.groups !== undefined)
        set.allowed_groups = input.access.groups ? JSON.stringify(input.access.groups) : null;
      changes.access = {
        from: { roles: parseJsonList(repo.allowed_roles), groups: parseJsonList(repo.allowed_groups) },
        to: {
          roles: parseJsonList(set.allowed_roles ?? repo.allowed_roles),
          groups: parseJsonList(set.allowed_groups === undefined ? repo.allowed_groups : set.allowed_groups),
        },
      };
    }
    if (denyRules) {
      set.deny_rules = JSON.stringify(denyRules);
      changes.denyRules = { from: parseJsonList(repo.deny_rules), to: denyRules };
    }
    if (input.secretPatterns) {
      set.secret_patterns = JSON.stringify(input.secretPatterns);
      changes.secretPatterns = input.secretPatterns.map((p) => p.id);
    }
    if (input.prScan !== undefined) changes.prScan = (set.pr_scan = input.prScan ? 1 : 0) === 1;
    if (input.modelReview !== undefined) changes.modelReview = (set.model_review = input.modelReview ? 1 : 0) === 1;
    await tx.updateTable('github_repositories').set(set).where('id', '=', repo.id).execute();
    const updated = { ...repo, ...set } as GithubRepositoriesTable;
    const settled = await settleStatus(tx, updated);
    updated.status = settled.status;
    await recordGithubAudit(tx, ctx, {
      orgId,
      action: 'github_repository.updated',
      targets: [{ type: 'github_repository', id: repo.id, name: repo.full_name }],
      metadata: { ...changes, status: settled.status },
    });
    // New patterns find new secrets only if the tree is scanned again.
    if (input.secretPatterns)
      await enqueueGithubJob(tx, ctx.clock.now(), {
        orgId,
        repositoryId: repo.id,
        kind: 'repository_scan',
        payload: { reason: 'patterns_changed' },
      });
    return repositoryView(updated, await openCount(tx, repo.id));
  });
}

/** Takes repositories off the allowlist with their findings, suppressions and pending scans, audited with the reason. The caller deletes the clones after the commit. */
export async function dropRepositories(
  tx: Tx,
  ctx: Ctx,
  repos: GithubRepositoriesTable[],
  reason: string,
): Promise<void> {
  for (const repo of repos) {
    await tx.deleteFrom('github_findings').where('repository_id', '=', repo.id).execute();
    await tx.deleteFrom('github_suppressions').where('repository_id', '=', repo.id).execute();
    await tx
      .deleteFrom('github_jobs')
      .where('repository_id', '=', repo.id)
      .where('status', 'in', ['queued', 'running'])
      .execute();
    await tx.deleteFrom('github_repositories').where('id', '=', repo.id).execute();
    await recordGithubAudit(tx, ctx, {
      orgId: repo.org_id,
      action: 'github_repository.removed',
      targets: [{ type: 'github_repository', id: repo.id, name: repo.full_name }],
      metadata: { reason },
    });
  }
}

export async function removeRepository(ctx: Ctx, orgId: string, repositoryId: string): Promise<void> {
  await authorize(ctx, orgId, 'github.manage');
  const repo = await repositoryById(ctx.db, orgId, repositoryId);
  await ctx.db.transaction().execute((tx) => dropRepositories(tx, ctx, [repo], 'removed_by_admin'));
  await rm(mirrorDir(ctx.config, orgId, repo.id), { recursive: true, force: true });
}

export async function rescanRepository(ctx: Ctx, orgId: string, repositoryId: string): Promise<{ queued: boolean }> {
  await authorize(ctx, orgId, 'github.manage');
  const repo = await repositoryById(ctx.db, orgId, repositoryId);
  await ctx.db.transaction().execute((tx) =>
    enqueueGithubJob(tx, ctx.clock.now(), {
      orgId,
      repositoryId: repo.id,
      kind: 'repository_scan',
      payload: { reason: 'requested' },
    }),
  );
  return { queued: true };
}

export const InstallationRepositoryView = Type.Object({
  githubId: Type.String(),
  fullName: Type.String(),
  private: Type.Boolean(),
  defaultBranch: Type.String(),
  allowlistedAs: Type.Union([Type.String(), Type.Null()]),
});
export type InstallationRepositoryView = Static<typeof InstallationRepositoryView>;

/** What an installation can read on GitHub, each marked with its allowlist entry (if any). */
export async function listInstallationRepositories(
  ctx: Ctx,
  orgId: string,
  connectionId: string,
  installationId: string,
): Promise<{ data: InstallationRepositoryView[] }> {
  await authorize(ctx, orgId, 'github.manage');
  const conn = await connectionById(ctx.db, orgId, connectionId);
  const inst = await ctx.db
    .selectFrom('github_installations')
    .select('id')
    .where('connection_id', '=', conn.id)
    .where('installation_id', '=', installationId)
    .executeTakeFirst();
  if (!inst) throw notFound('installation');
  const octokit = await installationOctokit(ctx.db, ctx.config, conn, installationId);
  let repos: GithubRepositoryInfo[];
  try {
    repos = (await octokit.request('GET /installation/repositories', { per_page: 100 })).data
      .repositories as GithubRepositoryInfo[];
  } catch (err) {
    throw githubCallFailed(err, 'listing the installation repositories');
  }
  const listed = await ctx.db
    .selectFrom('github_repositories')
    .select(['id', 'github_id'])
    .where('connection_id', '=', conn.id)
    .execute();
  return {
    data: repos.map((r) => ({
      githubId: String(r.id),
      fullName: r.full_name,
      private: r.private,
      defaultBranch: r.default_branch ?? 'main',
      allowlistedAs: listed.find((l) => l.github_id === String(r.id))?.id ?? null,
    })),
  };
}

/** The IdP groups a member is in: SCIM groups of the organization's directories, and the groups of their last SSO sign-in. */
export async function memberGroups(db: Queryable, orgId: string, userId: string): Promise<Set<string>> {
  const scim = await db
    .selectFrom('scim_group_members')
    .innerJoin('scim_users', 'scim_users.id', 'scim_group_members.scim_user_id')
    .innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id')
    .select('scim_groups.display_name')
    .where('scim_users.org_id', '=', orgId)
    .where('scim_users.user_id', '=', userId)
    .where('scim_users.active', '=', 1)
    .execute();
  const out = new Set(scim.map((g) => g.display_name));
  const sso = await db
    .selectFrom('sso_logins')
    .select('attributes')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .where('purpose', '=', 'login')
    .orderBy('occurred_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (sso) {
    try {
      const groups = (JSON.parse(sso.attributes) as { groups?: unknown }).groups;
      if (Array.isArray(groups)) for (const g of groups) if (typeof g === 'string') out.add(g);
    } catch {
      /* an unreadable record grants nothing */
    }
  }
  return out;
}

/** Why a member may not use a repository, or null when they may (allowlisted, readable, role and group narrowing). */
export async function accessRefusal(
  db: Queryable,
  repo: GithubRepositoriesTable,
  role: Role,
  userId: string | null,
): Promise<PalisadeError | null> {
  const roles = parseJsonList(repo.allowed_roles);
  const groups = parseJsonList(repo.allowed_groups);
  const missing: string[] = [];
  if (roles && !roles.includes(role)) missing.push(`one of the roles ${roles.join(', ')} (yours is ${role})`);
  if (groups && userId) {
    const mine = await memberGroups(db, repo.org_id, userId);
    if (!groups.some((g) => mine.has(g))) missing.push(`membership of one of the groups ${groups.join(', ')}`);
  }
  if (missing.length) {
    return githubError(
      'repository_access_denied',
      `${repo.full_name} is limited to members with ${missing.join(' and ')}. Ask an admin of this organization if you need it.`,
      { repository: repo.full_name, reason: 'narrowed' },
    );
  }
  if (repo.status === 'pending_scan' || repo.scanned_sha === null)
    return githubError(
      'repository_scan_pending',
      `${repo.full_name} is waiting for its first secret scan; it becomes readable when the scan is clear. Try again in a minute.`,
    );
  if (repo.status === 'blocked')
    return githubError(
      'repository_not_readable',
      `${repo.full_name} is not readable: its secret scan found credentials that an admin must acknowledge or cover with a deny rule first.`,
    );
  return null;
}
