import { gzipSync } from 'node:zlib';
import type { Octokit } from '@octokit/rest';
import type { Ctx } from '../context.js';
import { newId } from '../ids.js';
import { recordGithubAudit } from './record-audit.js';
import { githubCallFailed, installationOctokit } from './connection.js';
import { denyRulesFor } from './deny-rules.js';
import { registerGithubJobHandler } from './jobs.js';
import { modelReview } from './model-review.js';
import { type PrAnalysis, type PrFinding, analyzePullRequest } from './pr-analysis.js';
import { assertSafeRef, cloneUrl, syncMirror } from './repo-scan.js';
import { RULES } from './rules/index.js';
import { toSarif } from './sarif.js';
import { type SecretPattern, compilePatterns } from './secret-scan.js';
import { parseJsonList } from './store.js';
import type { GithubJobsTable, GithubRepositoriesTable } from './tables.js';

/**
 * A pull request opened, reopened or pushed to (synchronize) on an allowlisted repository with PR
 * scanning on: fetch head and base, analyze the change (pr-analysis.ts), then publish on GitHub —
 * a check run with annotations, one review with inline comments (suggested fixes where a rule has
 * one) on changed lines only, and a SARIF 2.1.0 upload to code scanning — and record the scan and
 * every applied suppression in the audit log.
 */
export interface PullRequestJobPayload {
  number: number;
  headSha: string;
  baseSha: string;
  baseRef: string;
  deliveryId?: string;
}

const CHECK_NAME = 'Palisade security scan';
const MAX_ANNOTATIONS = 500;
const MAX_REVIEW_COMMENTS = 50;

const ANNOTATION_LEVEL = { high: 'failure', medium: 'warning', low: 'notice' } as const;

function conclusionOf(findings: PrFinding[]): 'success' | 'neutral' | 'failure' {
  const live = findings.filter((f) => f.published);
  if (live.some((f) => f.confidence === 'high')) return 'failure';
  return live.length ? 'neutral' : 'success';
}

function summaryText(a: PrAnalysis, findings: PrFinding[], modelNote: string | null): string {
  const live = findings.filter((f) => f.published);
  const byRule = new Map<string, number>();
  for (const f of live) byRule.set(f.ruleId, (byRule.get(f.ruleId) ?? 0) + 1);
  const suppressed = findings.filter((f) => f.suppressed);
  const lines = [
    live.length
      ? `**${live.length} finding${live.length === 1 ? '' : 's'}** on the lines this pull request changes.`
      : 'No findings on the lines this pull request changes.',
    '',
    ...[...byRule].map(([rule, n]) => `- \`${rule}\`: ${n}`),
    '',
    `Files: ${a.files.changed} changed, ${a.files.scanned} scanned (${a.files.deleted} deleted, ${a.files.binary} binary, ${a.files.tooLarge} too large, ${a.files.symlinks} symlinks, ${a.files.unsupported} in languages without code rules — secrets are still checked in those).`,
  ];
  if (suppressed.length)
    lines.push(
      '',
      `Suppressed (${suppressed.length}):`,
      ...suppressed
        .slice(0, 20)
        .map((f) => `- \`${f.ruleId}\` at ${f.path}:${f.line} (${f.suppressed?.source}): ${f.suppressed?.reason}`),
    );
  const notes = findings.filter((f) => !f.published && !f.suppressed).length;
  if (notes)
    lines.push('', `${notes} low-confidence note${notes === 1 ? '' : 's'} are in the code scanning results only.`);
  if (a.problems.length) lines.push('', 'Problems:', ...a.problems.map((p) => `- ${p}`));
  if (modelNote) lines.push('', modelNote);
  return lines.join('\n').slice(0, 60_000);
}

function commentBody(f: PrFinding): string {
  const rule = RULES.find((r) => r.id === f.ruleId);
  const head = `**${rule?.name ?? (f.kind === 'secret' ? 'Committed credential' : f.ruleId)}** (\`${f.ruleId}\`, confidence ${f.confidence})`;
  const parts = [head, '', f.message];
  if (rule) parts.push('', rule.help);
  if (f.suggestion) parts.push('', '```suggestion', f.suggestion.text, '```');
  parts.push(
    '',
    `<sub>Suppress with a reason: \`palisade-ignore ${f.ruleId}: <why this is safe>\` on this line or the line above.</sub>`,
  );
  return parts.join('\n');
}

async function publish(
  octokit: Octokit,
  repo: GithubRepositoriesTable,
  p: PullRequestJobPayload,
  head: string,
  findings: PrFinding[],
  summary: string,
  conclusion: string,
  sarif: Record<string, unknown>,
): Promise<{ checkRunId: string | null; reviewId: string | null; sarifId: string | null; errors: string[] }> {
  const [owner = '', name = ''] = repo.full_name.split('/');
  const errors: string[] = [];
  const annotations = findings
    .filter((f) => f.published)
    .slice(0, MAX_ANNOTATIONS)
    .map((f) => ({
      path: f.path,
      start_line: f.line,
      end_line: f.line,
      annotation_level: ANNOTATION_LEVEL[f.confidence],
      title: f.ruleId,
      message: f.message.slice(0, 1000),
    }));
  let checkRunId: string | null = null;
  try {
    const title =
      conclusion === 'success'
        ? 'No security findings'
        : `${annotations.length} security finding${annotations.length === 1 ? '' : 's'}`;
    const created = await octokit.request('POST /repos/{owner}/{repo}/check-runs', {
      owner,
      repo: name,
      name: CHECK_NAME,
      head_sha: head,
      status: 'completed',
      conclusion: conclusion as 'success',
      completed_at: new Date().toISOString(),
      output: { title, summary, annotations: annotations.slice(0, 50) },
    });
    checkRunId = String(created.data.id);
    // GitHub takes 50 annotations per request; the rest are appended to the same run.
    for (let i = 50; i < annotations.length; i += 50) {
      await octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        owner,
        repo: name,
        check_run_id: Number(checkRunId),
        output: { title, summary, annotations: annotations.slice(i, i + 50) },
      });
    }
  } catch (err) {
    errors.push(`check run: ${githubCallFailed(err, 'creating the check run').message}`);
  }
  let reviewId: string | null = null;
  const comments = findings
    .filter((f) => f.published)
    .slice(0, MAX_REVIEW_COMMENTS)
    .map((f) => ({ path: f.path, line: f.line, side: 'RIGHT' as const, body: commentBody(f) }));
  if (comments.length) {
    try {
      const review = await octokit.request('POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews', {
        owner,
        repo: name,
        pull_number: p.number,
        commit_id: head,
        event: 'COMMENT',
        body: `Palisade found ${comments.length} issue${comments.length === 1 ? '' : 's'} on changed lines. Details are in the "${CHECK_NAME}" check.`,
        comments,
      });
      reviewId = String(review.data.id);
    } catch (err) {
      errors.push(`review: ${githubCallFailed(err, 'posting review comments').message}`);
    }
  }
  let sarifId: string | null = null;
  try {
    const upload = await octokit.request('POST /repos/{owner}/{repo}/code-scanning/sarifs', {
      owner,
      repo: name,
      commit_sha: head,
      ref: `refs/pull/${p.number}/head`,
      sarif: gzipSync(Buffer.from(JSON.stringify(sarif))).toString('base64'),
      tool_name: 'Palisade',
    });
    sarifId = upload.data.id ? String(upload.data.id) : null;
  } catch (err) {
    errors.push(`SARIF upload: ${githubCallFailed(err, 'uploading SARIF').message}`);
  }
  return { checkRunId, reviewId, sarifId, errors };
}

export async function scanPullRequestJob(ctx: Ctx, job: GithubJobsTable): Promise<void> {
  const repo = await ctx.db
    .selectFrom('github_repositories')
    .selectAll()
    .where('id', '=', job.repository_id)
    .executeTakeFirst();
  if (!repo || repo.pr_scan !== 1) return;
  const conn = await ctx.db
    .selectFrom('github_connections')
    .selectAll()
    .where('id', '=', repo.connection_id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  if (!conn) return;
  const p = JSON.parse(job.payload) as PullRequestJobPayload;
  const started = performance.now();
  const baseRef = assertSafeRef(p.baseRef);
  const dir = await syncMirror(ctx, conn, repo, [
    `+refs/pull/${p.number}/head:refs/palisade/pull/${p.number}/head`,
    `+refs/heads/${baseRef}:refs/palisade/pull/${p.number}/base`,
  ]);
  const adminRules = (
    await ctx.db.selectFrom('github_suppressions').selectAll().where('repository_id', '=', repo.id).execute()
  ).map((s) => ({ rule: s.rule_id, paths: [s.path_pattern], reason: s.reason, source: 'admin' as const }));
  const custom = compilePatterns(JSON.parse(repo.secret_patterns) as SecretPattern[]);
  const analysis = await analyzePullRequest(dir, p.baseSha, p.headSha, {
    maxFileBytes: ctx.config.githubMaxFileBytes,
    custom,
    adminRules,
  });
  const findings = [...analysis.findings];
  let modelNote: string | null = null;
  if (repo.model_review === 1) {
    const deny = denyRulesFor(parseJsonList(repo.deny_rules) ?? []);
    const review = await modelReview(
      ctx,
      repo.org_id,
      repo.full_name,
      analysis.diffFiles.filter(
        (f) => !f.binary && f.newPath && !deny.match(f.newPath) && !(f.oldPath && deny.match(f.oldPath)),
      ),
    );
    findings.push(...review.findings);
    modelNote = review.note;
  }
  const analyzedMs = Math.round(performance.now() - started);
  const conclusion = conclusionOf(findings);
  const sarif = toSarif(findings, {
    commit: p.headSha,
    ref: `refs/pull/${p.number}/head`,
    repositoryUri: cloneUrl(conn, repo).replace(/\.git$/, ''),
  });
  const octokit = await installationOctokit(ctx.db, ctx.config, conn, repo.installation_id);
  const published = await publish(
    octokit,
    repo,
    p,
    p.headSha,
    findings,
    summaryText(analysis, findings, modelNote),
    conclusion,
    sarif,
  );
  const live = findings.filter((f) => f.published);
  const summary = {
    findings: live.length,
    byConfidence: {
      high: live.filter((f) => f.confidence === 'high').length,
      medium: live.filter((f) => f.confidence === 'medium').length,
    },
    notes: findings.filter((f) => !f.published && !f.suppressed).length,
    suppressed: findings.filter((f) => f.suppressed).length,
    secrets: live.filter((f) => f.kind === 'secret').length,
    files: analysis.files,
    truncated: analysis.truncated,
    problems: analysis.problems.length,
    reviewComments: published.reviewId ? Math.min(live.length, MAX_REVIEW_COMMENTS) : 0,
    publishErrors: published.errors,
    analyzedMs,
    totalMs: Math.round(performance.now() - started),
  };
  await ctx.db.transaction().execute(async (tx) => {
    const id = newId('ghp', ctx.clock.now());
    await tx
      .insertInto('github_pr_scans')
      .values({
        id,
        org_id: repo.org_id,
        repository_id: repo.id,
        pr_number: p.number,
        head_sha: p.headSha,
        base_sha: p.baseSha,
        conclusion,
        summary: JSON.stringify(summary),
        check_run_id: published.checkRunId,
        sarif_id: published.sarifId,
        created_at: ctx.clock.now().toISOString(),
      })
      .execute();
    const target = { type: 'github_repository', id: repo.id, name: repo.full_name };
    for (const f of findings.filter((x) => x.suppressed).slice(0, 200)) {
      await recordGithubAudit(tx, ctx, {
        orgId: repo.org_id,
        action: 'github_finding.suppressed',
        targets: [target],
        metadata: {
          pullRequest: p.number,
          headSha: p.headSha,
          ruleId: f.ruleId,
          path: f.path,
          line: f.line,
          source: f.suppressed?.source,
          reason: f.suppressed?.reason,
        },
      });
    }
    await recordGithubAudit(tx, ctx, {
      orgId: repo.org_id,
      action: 'github_pr.scanned',
      targets: [target, { type: 'github_pr_scan', id }],
      metadata: {
        pullRequest: p.number,
        headSha: p.headSha,
        baseSha: p.baseSha,
        conclusion,
        deliveryId: p.deliveryId ?? null,
        ...summary,
      },
    });
  });
}

registerGithubJobHandler('pull_request_scan', scanPullRequestJob);
