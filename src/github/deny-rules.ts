import ignore, { type Ignore } from 'ignore';
import { githubError } from './errors.js';

/**
 * File-level deny rules: gitignore-style patterns (the `ignore` package implements git's own
 * semantics: `*.pem` at any depth, `secrets/` for a directory anywhere, `/config/prod.yml` anchored
 * at the root, `!pattern` to re-allow). Matching ignores case, so `.ENV` on a case-insensitive
 * checkout is denied like `.env`. A path inside a denied directory is denied by that directory's rule.
 *
 * The default set covers the files that carry credentials in practice; every repository starts
 * with it, and admins add patterns (or `!` exceptions) per repository.
 */
export const DEFAULT_DENY_RULES: readonly string[] = [
  '*.env',
  '.env*',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  '*.jks',
  '*.keystore',
  '*.ppk',
  'id_rsa*',
  'id_dsa*',
  'id_ecdsa*',
  'id_ed25519*',
  '.npmrc',
  '.yarnrc.yml',
  '.pypirc',
  '.netrc',
  '.git-credentials',
  '.htpasswd',
  '.dockercfg',
  '.docker/config.json',
  '.aws/credentials',
  '*.tfstate',
  '*.tfstate.*',
  '*.tfvars',
  '*.kdbx',
  'credentials.json',
  'secrets/',
  '.secrets/',
];

export interface DenyMatch {
  /** The pattern as written. */
  rule: string;
  source: 'default' | 'repository';
}

export interface DenyRules {
  /** The rule that denies `path`, or null when it may be read. */
  match(path: string): DenyMatch | null;
}

const MAX_RULES = 200;

/** Validates an admin's additions: gitignore syntax, one pattern per entry, nothing that could never match a repository path. */
export function validateDenyRules(rules: readonly string[]): string[] {
  if (rules.length > MAX_RULES)
    throw githubError(
      'invalid_deny_rule',
      `A repository may add at most ${MAX_RULES} deny rules; group paths with globs (secrets/**, *.pem).`,
    );
  const out: string[] = [];
  for (const raw of rules) {
    const rule = raw.trim();
    const problem = !rule
      ? 'is empty'
      : rule.length > 300
        ? 'is longer than 300 characters'
        : /[\r\n\0]/.test(rule)
          ? 'contains a line break or NUL (give one pattern per entry)'
          : rule.startsWith('#')
            ? 'is a comment (starts with #); escape it as \\# to match a file name'
            : /(^|\/)\.\.(\/|$)/.test(rule)
              ? 'contains ".." (patterns are relative to the repository root)'
              : null;
    if (problem)
      throw githubError(
        'invalid_deny_rule',
        `The deny rule "${rule.slice(0, 100)}" ${problem}. Use gitignore syntax, e.g. "config/*.yml", "secrets/" or "!.env.example".`,
        { rule: rule.slice(0, 300) },
      );
    if (!out.includes(rule)) out.push(rule);
  }
  return out;
}

/** The effective rules of a repository: the default set, then its additions (which may re-allow with "!"). */
export function denyRulesFor(additions: readonly string[]): DenyRules {
  const ig: Ignore = ignore({ ignorecase: true }).add([
    ...DEFAULT_DENY_RULES.map((pattern) => ({ pattern, mark: 'default' })),
    ...additions.map((pattern) => ({ pattern, mark: 'repository' })),
  ]);
  const cache = new Map<string, DenyMatch | null>();
  return {
    match(path: string): DenyMatch | null {
      const hit = cache.get(path);
      if (hit !== undefined) return hit;
      const r = ig.test(path);
      const out: DenyMatch | null =
        r.ignored && r.rule
          ? { rule: r.rule.pattern, source: r.rule.mark === 'repository' ? 'repository' : 'default' }
          : null;
      if (cache.size < 50_000) cache.set(path, out);
      return out;
    },
  };
}
