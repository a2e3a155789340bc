import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { notFound } from '../errors.js';
import { type Page, type PageRequest, pageOf } from '../http/pagination.js';
import { newId } from '../ids.js';
import { authorize } from '../orgs/authorize.js';
import { recordGithubAudit } from './record-audit.js';
import { settleStatus } from './allowlist.js';
import { validateDenyRules } from './deny-rules.js';
import { githubError } from './errors.js';
import { RULES } from './rules/index.js';
import { parseJsonList, repositoryById } from './store.js';
import {
  type FindingView,
  type PrScanView,
  type SuppressionView,
  findingView,
  prScanView,
  suppressionView,
} from './views.js';

export const ListFindingsQuery = Type.Object({
  status: Type.Optional(
    Type.Union([Type.Literal('open'), Type.Literal('acknowledged'), Type.Literal('resolved')], {
      description: 'Stored status (a covered finding is stored as open).',
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});

export async function listFindings(
  ctx: Ctx,
  orgId: string,
  repositoryId: string,
  page: PageRequest,
  status?: 'open' | 'acknowledged' | 'resolved',
): Promise<Page<FindingView>> {
  await authorize(ctx, orgId, 'github.manage');
  const repo = await repositoryById(ctx.db, orgId, repositoryId);
  let q = ctx.db.selectFrom('github_findings').selectAll().where('repository_id', '=', repo.id);
  if (status) q = q.where('status', '=', status);
  const after = page.after?.[0];
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  const additions = parseJsonList(repo.deny_rules) ?? [];
  return pageOf(
    rows.map((r) => findingView(r, additions)),
    page,
  );
}

export const AcknowledgeFindingInput = Type.Object(
  {
    reason: Type.String({
      minLength: 10,
      maxLength: 1000,
      description: 'Why the finding is acceptable (a test fixture, a revoked key, …). Recorded in the audit log.',
    }),
  },
  { additionalProperties: false },
);

/** An admin accepts an open finding with a reason; the repository becomes readable when none is left open and uncovered. */
export async function acknowledgeFinding(
  ctx: Ctx,
  orgId: string,
  repositoryId: string,
  findingId: string,
  input: Static<typeof AcknowledgeFindingInput>,
): Promise<{ finding: FindingView; repositoryStatus: string }> {
  await authorize(ctx, orgId, 'github.manage');
  return ctx.db.transaction().execute(async (tx) => {
    const repo = await repositoryById(tx, orgId, repositoryId);
    const f = await tx
      .selectFrom('github_findings')
      .selectAll()
      .where('id', '=', findingId)
      .where('repository_id', '=', repo.id)
      .executeTakeFirst();
    if (!f) throw notFound('finding');
    if (f.status !== 'open')
      throw githubError('finding_not_open', `This finding is ${f.status}; only open findings are acknowledged.`, {
        status: f.status,
      });
    const at = ctx.clock.now().toISOString();
    const by = ctx.caller.kind === 'user' ? ctx.caller.email : null;
    await tx
      .updateTable('github_findings')
      .set({ status: 'acknowledged', acknowledged_at: at, acknowledged_by: by, acknowledged_reason: input.reason })
      .where('id', '=', f.id)
      .execute();
    const settled = await settleStatus(tx, repo);
    await recordGithubAudit(tx, ctx, {
      orgId,
      action: 'github_finding.acknowledged',
      targets: [
        { type: 'github_repository', id: repo.id, name: repo.full_name },
        { type: 'github_finding', id: f.id },
      ],
      metadata: {
        ruleId: f.rule_id,
        path: f.path,
        line: f.line,
        reason: input.reason,
        repositoryStatus: settled.status,
      },
    });
    return {
      finding: findingView(
        { ...f, status: 'acknowledged', acknowledged_at: at, acknowledged_by: by, acknowledged_reason: input.reason },
        parseJsonList(repo.deny_rules) ?? [],
      ),
      repositoryStatus: settled.status,
    };
  });
}

export const CreateSuppressionInput = Type.Object(
  {
    ruleId: Type.String({ maxLength: 100, description: 'A PR-scan rule id (GET …/github/rules lists them).' }),
    pathPattern: Type.String({
      minLength: 1,
      maxLength: 300,
      description: 'gitignore-style pattern of the paths it covers, e.g. "test/**" or "*".',
    }),
    reason: Type.String({ minLength: 10, maxLength: 1000 }),
  },
  { additionalProperties: false },
);

export async function createSuppression(
  ctx: Ctx,
  orgId: string,
  repositoryId: string,
  input: Static<typeof CreateSuppressionInput>,
): Promise<SuppressionView> {
  await authorize(ctx, orgId, 'github.manage');
  if (!RULES.some((r) => r.id === input.ruleId))
    throw githubError(
      'invalid_suppression',
      `There is no rule "${input.ruleId.slice(0, 100)}". GET /api/v1/orgs/${orgId}/github/rules lists the rules.`,
    );
  const [pattern = ''] = validateDenyRules([input.pathPattern]);
  return ctx.db.transaction().execute(async (tx) => {
    const repo = await repositoryById(tx, orgId, repositoryId);
    const row = {
      id: newId('ghs', ctx.clock.now()),
      org_id: orgId,
      repository_id: repo.id,
      rule_id: input.ruleId,
      path_pattern: pattern,
      reason: input.reason,
      created_by: ctx.caller.kind === 'user' ? ctx.caller.email : null,
      created_at: ctx.clock.now().toISOString(),
    };
    await tx.insertInto('github_suppressions').values(row).execute();
    await recordGithubAudit(tx, ctx, {
      orgId,
      action: 'github_suppression.created',
      targets: [
        { type: 'github_repository', id: repo.id, name: repo.full_name },
        { type: 'github_suppression', id: row.id },
      ],
      metadata: { ruleId: row.rule_id, pathPattern: pattern, reason: row.reason },
    });
    return suppressionView(row);
  });
}

export async function listSuppressions(
  ctx: Ctx,
  orgId: string,
  repositoryId: string,
): Promise<{ data: SuppressionView[] }> {
  await authorize(ctx, orgId, 'github.manage');
  const repo = await repositoryById(ctx.db, orgId, repositoryId);
  const rows = await ctx.db
    .selectFrom('github_suppressions')
    .selectAll()
    .where('repository_id', '=', repo.id)
    .orderBy('id')
    .execute();
  return { data: rows.map(suppressionView) };
}

export async function deleteSuppression(
  ctx: Ctx,
  orgId: string,
  repositoryId: string,
  suppressionId: string,
): Promise<void> {
  await authorize(ctx, orgId, 'github.manage');
  await ctx.db.transaction().execute(async (tx) => {
    const repo = await repositoryById(tx, orgId, repositoryId);
    const s = await tx
      .selectFrom('github_suppressions')
      .selectAll()
      .where('id', '=', suppressionId)
      .where('repository_id', '=', repo.id)
      .executeTakeFirst();
    if (!s) throw notFound('suppression');
    await tx.deleteFrom('github_suppressions').where('id', '=', s.id).execute();
    await recordGithubAudit(tx, ctx, {
      orgId,
      action: 'github_suppression.deleted',
      targets: [
        { type: 'github_repository', id: repo.id, name: repo.full_name },
        { type: 'github_suppression', id: s.id },
      ],
      metadata: { ruleId: s.rule_id, pathPattern: s.path_pattern },
    });
  });
}

export async function listPrScans(
  ctx: Ctx,
  orgId: string,
  repositoryId: string,
  page: PageRequest,
): Promise<Page<PrScanView>> {
  await authorize(ctx, orgId, 'github.manage');
  const repo = await repositoryById(ctx.db, orgId, repositoryId);
  let q = ctx.db.selectFrom('github_pr_scans').selectAll().where('repository_id', '=', repo.id);
  const after = page.after?.[0];
  if (after !== undefined) q = q.where('id', '<', after);
  const rows = await q
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return pageOf(rows.map(prScanView), page);
}
