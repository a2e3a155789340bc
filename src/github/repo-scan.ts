import type { Ctx } from '../context.js';
import type { Tx } from '../db/schema.js';
import { enqueueEmail } from '../email/outbox.js';
import { emailConfigured } from '../email/transport.js';
import { newId } from '../ids.js';
import { recordGithubAudit } from './record-audit.js';
import { settleStatus } from './allowlist.js';
import { gitBaseUrl, installationToken } from './connection.js';
import { githubError } from './errors.js';
import { fetchInto, mirrorDir, revParse } from './git.js';
import { registerGithubJobHandler } from './jobs.js';
import { type SecretHit, type SecretPattern, type TreeScan, compilePatterns, scanTree } from './secret-scan.js';
import { adminEmails } from './store.js';
import type { GithubConnectionsTable, GithubJobsTable, GithubRepositoriesTable } from './tables.js';

/**
 * The secret scan of a repository's default branch: when it is allowlisted, on every push to the
 * default branch, when an admin asks or changes the patterns. The tree is fetched into Palisade's
 * bare clone and every text file is scanned; findings are kept by fingerprint, so a finding
 * acknowledged once stays acknowledged while it stays, and one that disappears is resolved.
 * The tools then serve exactly the commit that was scanned.
 */
const SAFE_REF = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/;

export const cloneUrl = (
  conn: Pick<GithubConnectionsTable, 'api_base_url'>,
  repo: Pick<GithubRepositoriesTable, 'full_name'>,
) => `${gitBaseUrl(conn.api_base_url)}/${repo.full_name}.git`;

export function assertSafeRef(ref: string): string {
  if (!SAFE_REF.test(ref))
    throw githubError('github_git_failed', `The branch name "${ref.slice(0, 100)}" is not one Palisade fetches.`);
  return ref;
}

async function repoAndConnection(
  ctx: Ctx,
  repositoryId: string,
): Promise<{ repo: GithubRepositoriesTable; conn: GithubConnectionsTable } | null> {
  const repo = await ctx.db
    .selectFrom('github_repositories')
    .selectAll()
    .where('id', '=', repositoryId)
    .executeTakeFirst();
  if (!repo) return null;
  const conn = await ctx.db
    .selectFrom('github_connections')
    .selectAll()
    .where('id', '=', repo.connection_id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  return conn ? { repo, conn } : null;
}

/** Fetches `refspecs` into the repository's bare clone with a fresh installation token. */
export async function syncMirror(
  ctx: Ctx,
  conn: GithubConnectionsTable,
  repo: GithubRepositoriesTable,
  refspecs: string[],
): Promise<string> {
  const token = await installationToken(ctx.db, ctx.config, conn, repo.installation_id);
  const dir = mirrorDir(ctx.config, repo.org_id, repo.id);
  await fetchInto(ctx.config, dir, { url: cloneUrl(conn, repo), token, refspecs });
  return dir;
}

export async function scanRepositoryJob(ctx: Ctx, job: GithubJobsTable): Promise<void> {
  const found = await repoAndConnection(ctx, job.repository_id);
  if (!found) return;
  const { repo, conn } = found;
  const reason = String((JSON.parse(job.payload) as { reason?: string }).reason ?? 'requested');
  try {
    const branch = assertSafeRef(repo.default_branch);
    const dir = await syncMirror(ctx, conn, repo, [`+refs/heads/${branch}:refs/heads/${branch}`]);
    const head = await revParse(dir, `refs/heads/${branch}`);
    if (!head)
      throw githubError('github_git_failed', `The default branch ${branch} of ${repo.full_name} has no commit.`);
    const custom = compilePatterns(JSON.parse(repo.secret_patterns) as SecretPattern[]);
    const scan = await scanTree(dir, head, { maxFileBytes: ctx.config.githubMaxFileBytes, custom });
    await ctx.db.transaction().execute((tx) => applyScan(tx, ctx, repo, head, scan, reason));
  } catch (err) {
    const message = err instanceof Error ? err.message.slice(0, 500) : String(err);
    await ctx.db.updateTable('github_repositories').set({ scan_error: message }).where('id', '=', repo.id).execute();
    throw err;
  }
}

async function applyScan(
  tx: Tx,
  ctx: Ctx,
  repo: GithubRepositoriesTable,
  head: string,
  scan: TreeScan,
  reason: string,
): Promise<void> {
  const at = ctx.clock.now().toISOString();
  const existing = new Map(
    (await tx.selectFrom('github_findings').selectAll().where('repository_id', '=', repo.id).execute()).map((f) => [
      f.fingerprint,
      f,
    ]),
  );
  const seen = new Set<string>();
  const fresh: { id: string; hit: SecretHit }[] = [];
  let reopened = 0;
  for (const hit of scan.hits) {
    if (seen.has(hit.fingerprint)) continue;
    seen.add(hit.fingerprint);
    const prior = existing.get(hit.fingerprint);
    if (prior) {
      const reopen = prior.status === 'resolved';
      if (reopen) reopened++;
      await tx
        .updateTable('github_findings')
        .set({
          line: hit.line,
          last_seen_at: at,
          ...(reopen
            ? { status: 'open', acknowledged_at: null, acknowledged_by: null, acknowledged_reason: null }
            : {}),
        })
        .where('id', '=', prior.id)
        .execute();
      if (reopen) fresh.push({ id: prior.id, hit });
      continue;
    }
    const id = newId('ghf', ctx.clock.now());
    await tx
      .insertInto('github_findings')
      .values({
        id,
        org_id: repo.org_id,
        repository_id: repo.id,
        fingerprint: hit.fingerprint,
        rule_id: hit.ruleId,
        path: hit.path,
        line: hit.line,
        redacted_match: hit.redacted,
        status: 'open',
        first_seen_sha: head,
        first_seen_at: at,
        last_seen_at: at,
        acknowledged_by: null,
        acknowledged_at: null,
        acknowledged_reason: null,
      })
      .execute();
    fresh.push({ id, hit });
  }
  let resolved = 0;
  for (const f of existing.values()) {
    if (seen.has(f.fingerprint) || f.status === 'resolved') continue;
    await tx
      .updateTable('github_findings')
      .set({ status: 'resolved', last_seen_at: at })
      .where('id', '=', f.id)
      .execute();
    resolved++;
  }
  await tx
    .updateTable('github_repositories')
    .set({ scanned_sha: head, scanned_at: at, scan_error: null })
    .where('id', '=', repo.id)
    .execute();
  const settled = await settleStatus(tx, { ...repo, scanned_sha: head });
  const target = { type: 'github_repository', id: repo.id, name: repo.full_name };
  for (const { id, hit } of fresh.slice(0, 500)) {
    await recordGithubAudit(tx, ctx, {
      orgId: repo.org_id,
      action: 'github_finding.detected',
      targets: [target, { type: 'github_finding', id }],
      metadata: { ruleId: hit.ruleId, path: hit.path, line: hit.line, redactedMatch: hit.redacted, commit: head },
    });
  }
  await recordGithubAudit(tx, ctx, {
    orgId: repo.org_id,
    action: 'github_repository.scanned',
    targets: [target],
    metadata: {
      commit: head,
      reason,
      filesScanned: scan.filesScanned,
      skipped: scan.skipped,
      newFindings: fresh.length,
      reopened,
      resolved,
      blockingFindings: settled.blocking,
      status: settled.status,
    },
  });
  // A repository already in use that gains a secret: its admins hear of it (the first scan's result is on the admin's screen).
  if (fresh.length && reason !== 'allowlisted' && emailConfigured(ctx.config)) {
    const lines = fresh.slice(0, 20).map(({ hit }) => `- ${hit.path}:${hit.line} (${hit.ruleId}) ${hit.redacted}`);
    const text = [
      `Palisade's secret scan found ${fresh.length} new credential${fresh.length === 1 ? '' : 's'} in ${repo.full_name} at ${head.slice(0, 12)}:`,
      lines.join('\n'),
      settled.status === 'blocked'
        ? 'The assistant cannot read this repository until an admin acknowledges each finding or covers the file with a deny rule. Rotate any credential that was real.'
        : 'The files are covered by deny rules, so the assistant cannot read them. Rotate any credential that was real.',
      `Findings: ${ctx.config.publicUrl.replace(/\/+$/, '')}/api/v1/orgs/${repo.org_id}/github/repositories/${repo.id}/findings`,
      '— Palisade',
    ].join('\n\n');
    const esc = (s: string) =>
      s.replace(
        /[&<>"']/g,
        (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
      );
    const html = `<!doctype html><html lang="en"><body style="font:15px/1.5 system-ui,sans-serif">${text
      .split('\n\n')
      .map((p) => `<p style="white-space:pre-wrap">${esc(p)}</p>`)
      .join('')}</body></html>`;
    for (const to of await adminEmails(tx, repo.org_id)) {
      await enqueueEmail(tx, ctx.config, ctx.clock.now(), {
        orgId: repo.org_id,
        template: 'github_secret_found',
        to,
        content: { subject: `New secrets found in ${repo.full_name}`.slice(0, 200), text, html },
      });
    }
  }
}

registerGithubJobHandler('repository_scan', scanRepositoryJob);
