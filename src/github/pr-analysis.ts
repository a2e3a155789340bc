import { createHash } from 'node:crypto';
import { type DiffFile, diffCommits, parseUnifiedDiff } from './diff.js';
import { entryAt, git, isBinary, readBlob, readBlobs } from './git.js';
import { PUBLISHED_CONFIDENCE, type Confidence, languageOf, scanSource } from './rules/index.js';
import { type CompiledPattern, scanText } from './secret-scan.js';
import {
  SUPPRESSION_FILE,
  type Suppression,
  type SuppressionRule,
  parseSuppressionFile,
  suppressionFor,
} from './suppressions.js';

/**
 * What a pull request changes, scanned: the diff between the merge base and the head gives the
 * added lines of each file; each changed file is parsed whole at the head (rules need the syntax
 * around a line) and only findings on added lines are kept; the secret scanner looks at added
 * lines only. Deleted, binary, symlinked, oversized and unsupported files are counted, not read.
 */
export interface PrFinding {
  kind: 'code' | 'secret' | 'model';
  ruleId: string;
  path: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  confidence: Confidence;
  message: string;
  /** One-line fix on an added line: the new text, and the length of the line it replaces. */
  suggestion: { line: number; text: string; oldLength: number } | null;
  fingerprint: string;
  suppressed: Suppression | null;
  /** Reported as an annotation and a review comment (confidence high or medium, not suppressed). */
  published: boolean;
}

export interface PrAnalysis {
  findings: PrFinding[];
  files: {
    changed: number;
    scanned: number;
    deleted: number;
    binary: number;
    tooLarge: number;
    unsupported: number;
    symlinks: number;
  };
  /** The diff was over the size limit: files beyond the budget were not scanned. */
  truncated: boolean;
  problems: string[];
  /** File diffs kept for the model-assisted review (never of denied files; the caller filters). */
  diffFiles: DiffFile[];
}

export const MAX_PR_DIFF_BYTES = 16 * 1024 * 1024;
const MAX_FILES = 3000;

async function diffFiles(dir: string, base: string, head: string): Promise<{ files: DiffFile[]; truncated: boolean }> {
  const whole = await diffCommits(dir, base, head, MAX_PR_DIFF_BYTES);
  if (!whole.truncated) return { files: parseUnifiedDiff(whole.text), truncated: false };
  // A huge diff: list the files, then take their diffs one by one up to the budget.
  const names = await git(['-C', dir, 'diff', '--no-color', '--name-only', '-z', '--no-renames', `${base}...${head}`], {
    maxBytes: 8 * 1024 * 1024,
  });
  const files: DiffFile[] = [];
  let budget = MAX_PR_DIFF_BYTES;
  for (const name of names.stdout.toString('utf8').split('\0').filter(Boolean).slice(0, MAX_FILES)) {
    if (budget <= 0) break;
    const one = await git(
      [
        '-C',
        dir,
        'diff',
        '--no-color',
        '--no-ext-diff',
        '--no-textconv',
        '--unified=3',
        `${base}...${head}`,
        '--',
        `:(literal)${name}`,
      ],
      { maxBytes: Math.max(budget, 1) },
    ).catch(() => null);
    if (!one || one.code !== 0) continue;
    budget -= one.stdout.length;
    files.push(...parseUnifiedDiff(one.stdout.toString('utf8')));
  }
  return { files, truncated: true };
}

export async function analyzePullRequest(
  dir: string,
  base: string,
  head: string,
  opts: { maxFileBytes: number; custom?: readonly CompiledPattern[]; adminRules?: readonly SuppressionRule[] },
): Promise<PrAnalysis> {
  const { files, truncated } = await diffFiles(dir, base, head);
  const counts = { changed: files.length, scanned: 0, deleted: 0, binary: 0, tooLarge: 0, unsupported: 0, symlinks: 0 };
  const problems: string[] = [];
  if (truncated)
    problems.push(
      `The diff is larger than ${MAX_PR_DIFF_BYTES / 1024 / 1024} MiB; files past that budget were not scanned.`,
    );
  // Repository-file suppressions come from the base: a pull request cannot suppress its own findings.
  const fileEntry = await entryAt(dir, base, SUPPRESSION_FILE);
  const fromFile = parseSuppressionFile(
    fileEntry && fileEntry.type === 'blob' && (fileEntry.size ?? 0) < 256 * 1024
      ? (await readBlob(dir, fileEntry.sha, 256 * 1024)).toString('utf8')
      : null,
  );
  problems.push(...fromFile.problems);
  const rules = [...fromFile.rules, ...(opts.adminRules ?? [])];

  const wanted: { file: DiffFile; sha: string; size: number }[] = [];
  for (const f of files) {
    if (f.status === 'deleted' || !f.newPath) {
      counts.deleted++;
      continue;
    }
    if (f.binary) {
      counts.binary++;
      continue;
    }
    if (!f.added.size) continue;
    const entry = await entryAt(dir, head, f.newPath);
    if (!entry || entry.type !== 'blob') continue;
    if (entry.mode === '120000') {
      counts.symlinks++;
      continue;
    }
    if ((entry.size ?? 0) > opts.maxFileBytes) {
      counts.tooLarge++;
      continue;
    }
    wanted.push({ file: f, sha: entry.sha, size: entry.size ?? 0 });
  }
  const bySha = new Map<string, DiffFile[]>();
  for (const w of wanted) bySha.set(w.sha, [...(bySha.get(w.sha) ?? []), w.file]);
  const findings: PrFinding[] = [];
  for await (const blob of readBlobs(dir, [...bySha.keys()], new Map(wanted.map((w) => [w.sha, w.size])))) {
    for (const file of bySha.get(blob.sha) ?? []) {
      const path = file.newPath as string;
      if (isBinary(blob.data)) {
        counts.binary++;
        continue;
      }
      const text = blob.data.toString('utf8');
      const lines = text.split('\n');
      counts.scanned++;
      const push = (f: Omit<PrFinding, 'suppressed' | 'published' | 'fingerprint'>) => {
        const suppressed = suppressionFor(f.ruleId, path, f.line, lines, rules, problems);
        const lineText = (lines[f.line - 1] ?? '').trim();
        const fingerprint = createHash('sha256').update(`${f.ruleId}\0${path}\0${lineText}`).digest('hex').slice(0, 32);
        findings.push({
          ...f,
          fingerprint,
          suppressed,
          published: !suppressed && PUBLISHED_CONFIDENCE.includes(f.confidence),
        });
      };
      if (languageOf(path)) {
        for (const f of scanSource(path, text)) {
          let onAdded = false;
          for (let l = f.line; l <= f.endLine && !onAdded; l++) onAdded = file.added.has(l);
          if (!onAdded) continue;
          const line = file.added.has(f.line)
            ? f.line
            : ([...file.added].find((l) => l >= f.line && l <= f.endLine) ?? f.line);
          const suggestion =
            f.suggestion && file.added.has(f.suggestion.line)
              ? { ...f.suggestion, oldLength: (lines[f.suggestion.line - 1] ?? '').length }
              : null;
          push({
            kind: 'code',
            ruleId: f.ruleId,
            path,
            line,
            column: line === f.line ? f.column : 1,
            endLine: line === f.line ? f.endLine : line,
            endColumn: line === f.line ? f.endColumn : (lines[line - 1] ?? '').length + 1,
            confidence: f.confidence,
            message: f.message,
            suggestion,
          });
        }
      } else counts.unsupported++;
      for (const s of await scanText(path, text, opts.custom ?? [], file.added)) {
        push({
          kind: 'secret',
          ruleId: s.ruleId,
          path,
          line: s.line,
          column: s.column,
          endLine: s.line,
          endColumn: s.column + 1,
          confidence: 'high',
          message: `A credential (${s.ruleId}, ${s.redacted}) is added in this change. Rotate it, and load it from a secret store instead.`,
          suggestion: null,
        });
      }
    }
  }
  return { findings, files: counts, truncated, problems: [...new Set(problems)].slice(0, 50), diffFiles: files };
}
