import ignore from 'ignore';

/**
 * Suppressing a PR-scan finding always takes a reason, and every applied suppression is audited
 * (`github_finding.suppressed`). Three sources:
 * - inline, on the finding's line or the line above: `palisade-ignore crypto/weak-signature-hash: SHA-1 is the git object id here`
 * - the repository file `.palisade/suppressions.json`, read from the pull request's BASE commit,
 *   so a pull request cannot silence its own findings by editing it:
 *   `{ "suppressions": [{ "rule": "crypto/insecure-random", "paths": ["test/**"], "reason": "test fixtures" }] }`
 * - an admin rule through the API (rule + path pattern + reason).
 * A suppression without a reason (fewer than 10 characters) is ignored, and the check run says so.
 */
export const SUPPRESSION_FILE = '.palisade/suppressions.json';
const INLINE = /palisade-ignore\s+([a-z0-9_./-]+)\s*(?::|--|—)\s*(.*?)\s*(?:\*\/|-->|$)/i;
const MIN_REASON = 10;

export interface Suppression {
  source: 'inline' | 'repository_file' | 'admin';
  reason: string;
}

export interface SuppressionRule {
  rule: string;
  paths: string[];
  reason: string;
  source: 'repository_file' | 'admin';
}

export interface FileSuppressions {
  rules: SuppressionRule[];
  /** Problems found reading the repository file or inline comments (no reason, bad JSON), for the check run summary. */
  problems: string[];
}

export function parseSuppressionFile(text: string | null): FileSuppressions {
  if (text === null) return { rules: [], problems: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { rules: [], problems: [`${SUPPRESSION_FILE} is not valid JSON; it was ignored.`] };
  }
  const list = (doc as { suppressions?: unknown }).suppressions;
  if (!Array.isArray(list))
    return { rules: [], problems: [`${SUPPRESSION_FILE} has no "suppressions" array; it was ignored.`] };
  const rules: SuppressionRule[] = [];
  const problems: string[] = [];
  list.slice(0, 500).forEach((entry: unknown, i) => {
    const e = entry as { rule?: unknown; paths?: unknown; reason?: unknown };
    const paths = Array.isArray(e.paths)
      ? e.paths.filter((p): p is string => typeof p === 'string' && p.length > 0 && p.length <= 300)
      : [];
    if (typeof e.rule !== 'string' || !paths.length)
      return problems.push(`${SUPPRESSION_FILE} entry ${i + 1} needs "rule" and "paths"; it was ignored.`);
    if (typeof e.reason !== 'string' || e.reason.trim().length < MIN_REASON)
      return problems.push(`${SUPPRESSION_FILE} entry ${i + 1} (${e.rule}) has no reason; it was ignored.`);
    rules.push({ rule: e.rule, paths, reason: e.reason.trim().slice(0, 500), source: 'repository_file' });
    return undefined;
  });
  return { rules, problems };
}

/** The suppression covering a finding, if any. `lines` are the file's lines at the head commit. */
export function suppressionFor(
  ruleId: string,
  path: string,
  line: number,
  lines: readonly string[],
  rules: readonly SuppressionRule[],
  problems: string[],
): Suppression | null {
  for (const at of [line, line - 1]) {
    const m = INLINE.exec(lines[at - 1] ?? '');
    if (!m || m[1]?.toLowerCase() !== ruleId.toLowerCase()) continue;
    const reason = (m[2] ?? '').trim();
    if (reason.length >= MIN_REASON) return { source: 'inline', reason: reason.slice(0, 500) };
    problems.push(`${path}:${at}: the palisade-ignore comment for ${ruleId} gives no reason, so the finding stands.`);
  }
  for (const r of rules) {
    if (r.rule !== ruleId) continue;
    if (ignore({ ignorecase: true }).add(r.paths).ignores(path)) return { source: r.source, reason: r.reason };
  }
  return null;
}
