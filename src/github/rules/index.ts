import { CRYPTO_RULES } from './crypto.js';
import { type Confidence, type Finding, parseFile, toFinding } from './engine.js';
import { INJECTION_RULES } from './injection.js';
import type { RuleDefinition } from './rule.js';
import { tlsVerificationDisabled } from './tls.js';

export type { Confidence, Finding } from './engine.js';
export { languageOf } from './engine.js';
export type { RuleDefinition } from './rule.js';

/** Every PR-scan rule. Adding one: write it for the general case, add vulnerable and safe look-alikes to test/github/corpus/, run `npm run bench -- rules`. */
export const RULES: readonly RuleDefinition[] = [...CRYPTO_RULES, tlsVerificationDisabled, ...INJECTION_RULES];

/** Findings at or above this confidence are published as annotations and review comments, and counted in the corpus figures; below it they are SARIF notes. */
export const PUBLISHED_CONFIDENCE: readonly Confidence[] = ['high', 'medium'];

/** Rules that threw on some input since start (a rule bug; the scan goes on without that rule for that file). The corpus test holds it at zero. */
export const ruleFailures: { ruleId: string; path: string; message: string }[] = [];

/** Runs every rule that knows the file's language. A file that does not parse yields nothing (never an error). */
export function scanSource(path: string, text: string): Finding[] {
  const ctx = parseFile(path, text);
  if (!ctx) return [];
  const out: Finding[] = [];
  for (const rule of RULES) {
    if (!rule.languages.includes(ctx.lang)) continue;
    let raws;
    try {
      raws = rule.check(ctx);
    } catch (err) {
      if (ruleFailures.length < 100)
        ruleFailures.push({ ruleId: rule.id, path, message: err instanceof Error ? err.message : String(err) });
      continue;
    }
    const seen = new Set<string>();
    for (const raw of raws) {
      const f = toFinding(ctx, rule.id, rule.severity, raw);
      const key = `${f.line}:${f.column}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(f);
    }
  }
  return out;
}
