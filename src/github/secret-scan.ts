import { createHash } from 'node:crypto';
import { lintSource } from '@secretlint/core';
import { creator as recommendedPreset } from '@secretlint/secretlint-rule-preset-recommend';
import type { SecretLintCoreConfig } from '@secretlint/types';
import { githubError } from './errors.js';
import { type TreeEntry, isBinary, lsTree, readBlobs } from './git.js';

/**
 * The secret scanner: secretlint with its recommended preset (AWS, GCP, Azure, GitHub, Slack,
 * npm, OpenAI, Anthropic, private keys, connection strings with passwords, basic auth in URLs, …)
 * plus Palisade's own patterns for well-known key formats the preset leaves out, plus the patterns
 * an admin adds to a repository. A finding carries the path, line, rule and a redacted match; the
 * secret itself never leaves this module (the fingerprint is a hash, and only within a repository).
 */
export interface SecretPattern {
  id: string;
  /** JavaScript regular expression source; the first capture group, when present, is the secret. */
  pattern: string;
  description: string;
}

/** Formats with a distinctive prefix, so a match is a credential with very few false positives. */
export const BUILTIN_PATTERNS: readonly SecretPattern[] = [
  {
    id: 'palisade/aws-access-key-id',
    pattern: '\\b((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})\\b',
    description: 'AWS access key id',
  },
  {
    id: 'palisade/stripe-secret-key',
    pattern: '\\b((?:sk|rk)_live_[0-9a-zA-Z]{20,99})\\b',
    description: 'Stripe live secret or restricted key',
  },
  {
    id: 'palisade/google-api-key',
    pattern: '\\b(AIza[0-9A-Za-z_\\-]{35})(?![0-9A-Za-z_\\-])',
    description: 'Google API key',
  },
  {
    id: 'palisade/private-key-block',
    pattern: '(-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)',
    description: 'PEM or OpenSSH private key',
  },
  {
    id: 'palisade/gitlab-token',
    pattern: '\\b(glpat-[0-9A-Za-z_\\-]{20})\\b',
    description: 'GitLab personal access token',
  },
  { id: 'palisade/twilio-api-key', pattern: '\\b(SK[0-9a-fA-F]{32})\\b', description: 'Twilio API key' },
  {
    id: 'palisade/palisade-token',
    pattern: '\\b(pls_(?:pat|gwk|scim|cmp)_[A-Za-z0-9_\\-]{20,})',
    description: 'Palisade API token, gateway key or SCIM token',
  },
];

/** Example values published in documentation: a match that contains one of these is not a credential. */
const EXAMPLE_MARKERS = /EXAMPLE|XXXXXXXX|0000000000000000|your[_-]?(?:api[_-]?)?key/i;

export interface CompiledPattern {
  id: string;
  regex: RegExp;
}

/** Validates and compiles admin patterns: a valid regular expression of at most 500 characters, that does not match the empty string. */
export function compilePatterns(patterns: readonly SecretPattern[]): CompiledPattern[] {
  return patterns.map((p) => {
    let regex: RegExp;
    try {
      regex = new RegExp(p.pattern, 'g');
    } catch (err) {
      throw githubError(
        'invalid_secret_pattern',
        `The secret pattern ${p.id} is not a valid regular expression (${(err as Error).message.slice(0, 100)}).`,
      );
    }
    if (p.pattern.length > 500 || regex.test(''))
      throw githubError(
        'invalid_secret_pattern',
        `The secret pattern ${p.id} must be at most 500 characters and must not match an empty string.`,
      );
    regex.lastIndex = 0;
    return { id: p.id, regex };
  });
}

const BUILTIN = compilePatterns(BUILTIN_PATTERNS);
const SECRETLINT_CONFIG: SecretLintCoreConfig = {
  rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommendedPreset }],
};

export interface SecretHit {
  ruleId: string;
  path: string;
  line: number;
  column: number;
  /** The first characters (enough to tell the kind of key) and the length; never the secret. */
  redacted: string;
  /** Stable across line moves: rule, path and a hash of the secret. */
  fingerprint: string;
}

export function redact(secret: string): string {
  const keep = secret.length >= 16 ? 4 : secret.length >= 8 ? 2 : 0;
  return `${secret.slice(0, keep)}${'*'.repeat(Math.min(12, Math.max(4, secret.length - keep)))} (${secret.length} chars)`;
}

const fingerprintOf = (ruleId: string, path: string, secret: string) =>
  createHash('sha256').update(`${ruleId}\0${path}\0${secret}`).digest('hex').slice(0, 40);

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function position(starts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (starts[lo] as number) + 1 };
}

/** Regular-expression patterns over the text; lines longer than 4096 characters are skipped (minified bundles, and a bound on backtracking). */
function scanPatterns(path: string, text: string, patterns: readonly CompiledPattern[]): SecretHit[] {
  const out: SecretHit[] = [];
  const lines = text.split('\n');
  lines.forEach((lineText, i) => {
    if (lineText.length > 4096) return;
    for (const p of patterns) {
      p.regex.lastIndex = 0;
      for (let m = p.regex.exec(lineText); m; m = p.regex.exec(lineText)) {
        if (m[0] === '') {
          p.regex.lastIndex++;
          continue;
        }
        const secret = m[1] ?? m[0];
        if (EXAMPLE_MARKERS.test(secret)) continue;
        const column = (m.index ?? 0) + Math.max(0, m[0].indexOf(secret)) + 1;
        out.push({
          ruleId: p.id,
          path,
          line: i + 1,
          column,
          redacted: redact(secret),
          fingerprint: fingerprintOf(p.id, path, secret),
        });
      }
    }
  });
  return out;
}

/** Every secret in one text file. `onlyLines` keeps hits on those lines (a pull request's added lines). */
export async function scanText(
  path: string,
  text: string,
  custom: readonly CompiledPattern[] = [],
  onlyLines?: ReadonlySet<number>,
): Promise<SecretHit[]> {
  const hits: SecretHit[] = [];
  const result = await lintSource({
    source: {
      filePath: path,
      content: text,
      contentType: 'text',
      ext: path.includes('.') ? path.slice(path.lastIndexOf('.')) : '',
    },
    options: { config: SECRETLINT_CONFIG, noPhysicFilePath: true, maskSecrets: true },
  });
  let starts: number[] | null = null;
  for (const m of result.messages) {
    if (m.type !== 'message' || m.severity !== 'error') continue;
    starts ??= lineStarts(text);
    const secret = text.slice(m.range[0], m.range[1]);
    const at = position(starts, m.range[0]);
    const ruleId = m.ruleId.replace(/^@secretlint\/secretlint-rule-/, 'secretlint/');
    hits.push({
      ruleId,
      path,
      line: at.line,
      column: at.column,
      redacted: redact(secret),
      fingerprint: fingerprintOf(ruleId, path, secret),
    });
  }
  const seenLines = new Set(hits.map((h) => `${h.line}:${h.column}`));
  // The built-in and admin patterns add what the preset does not report at the same place.
  for (const h of scanPatterns(path, text, [...BUILTIN, ...custom]))
    if (!seenLines.has(`${h.line}:${h.column}`)) hits.push(h);
  return onlyLines ? hits.filter((h) => onlyLines.has(h.line)) : hits;
}

export interface TreeScan {
  hits: SecretHit[];
  filesScanned: number;
  skipped: { binary: number; tooLarge: number; symlinks: number; submodules: number };
}

/** Scans every file of a commit: regular files only (symlinks are paths, submodules another repository), text only, up to maxFileBytes. */
export async function scanTree(
  dir: string,
  commit: string,
  opts: { maxFileBytes: number; custom?: readonly CompiledPattern[] },
): Promise<TreeScan> {
  const entries = await lsTree(dir, commit, '', true);
  const skipped = { binary: 0, tooLarge: 0, symlinks: 0, submodules: 0 };
  const files: TreeEntry[] = [];
  for (const e of entries) {
    if (e.type === 'commit') skipped.submodules++;
    else if (e.mode === '120000') skipped.symlinks++;
    else if (e.type !== 'blob') continue;
    else if ((e.size ?? 0) > opts.maxFileBytes) skipped.tooLarge++;
    else files.push(e);
  }
  const pathsBySha = new Map<string, string[]>();
  for (const f of files) pathsBySha.set(f.sha, [...(pathsBySha.get(f.sha) ?? []), f.path]);
  const hits: SecretHit[] = [];
  let filesScanned = 0;
  const sizes = new Map(files.map((f) => [f.sha, f.size ?? 0]));
  for await (const blob of readBlobs(dir, [...pathsBySha.keys()], sizes)) {
    const paths = pathsBySha.get(blob.sha) ?? [];
    if (isBinary(blob.data)) {
      skipped.binary += paths.length;
      continue;
    }
    const text = blob.data.toString('utf8');
    for (const path of paths) {
      filesScanned++;
      hits.push(...(await scanText(path, text, opts.custom ?? [])));
    }
  }
  return { hits, filesScanned, skipped };
}
