import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PUBLISHED_CONFIDENCE, RULES, scanSource } from '../../src/github/rules/index.js';

/**
 * The labelled corpus: test/github/corpus/<rule id>/{vulnerable,safe}/<file>. A vulnerable file is a
 * true positive when its rule reports at least one finding at a published confidence (high or
 * medium); a safe look-alike is a false positive when its rule reports one. Rates are per rule.
 */
export const CORPUS_DIR = fileURLToPath(new URL('./corpus/', import.meta.url));

export interface RuleScore {
  rule: string;
  vulnerable: number;
  detected: number;
  safe: number;
  falsePositives: number;
  tpr: number;
  fpr: number;
  missed: string[];
  falseAlarms: string[];
}

function files(dir: string): string[] {
  try {
    return readdirSync(dir).flatMap((f) =>
      statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)],
    );
  } catch {
    return [];
  }
}

export function evaluateCorpus(dir = CORPUS_DIR): { scores: RuleScore[]; otherRuleAlarmsOnSafe: string[] } {
  const scores: RuleScore[] = [];
  const otherRuleAlarmsOnSafe: string[] = [];
  for (const rule of RULES) {
    const hits = (file: string) =>
      scanSource(file, readFileSync(file, 'utf8')).filter((f) => PUBLISHED_CONFIDENCE.includes(f.confidence));
    const vulnerable = files(join(dir, rule.id, 'vulnerable'));
    const safe = files(join(dir, rule.id, 'safe'));
    const missed = vulnerable.filter((f) => !hits(f).some((h) => h.ruleId === rule.id));
    const falseAlarms = safe.filter((f) => hits(f).some((h) => h.ruleId === rule.id));
    for (const f of safe)
      for (const h of hits(f)) if (h.ruleId !== rule.id) otherRuleAlarmsOnSafe.push(`${relative(dir, f)}: ${h.ruleId}`);
    scores.push({
      rule: rule.id,
      vulnerable: vulnerable.length,
      detected: vulnerable.length - missed.length,
      safe: safe.length,
      falsePositives: falseAlarms.length,
      tpr: vulnerable.length ? (vulnerable.length - missed.length) / vulnerable.length : 0,
      fpr: safe.length ? falseAlarms.length / safe.length : 0,
      missed: missed.map((f) => relative(dir, f)),
      falseAlarms: falseAlarms.map((f) => relative(dir, f)),
    });
  }
  return { scores, otherRuleAlarmsOnSafe };
}

export function scoreTable(scores: RuleScore[]): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const rows = scores.map(
    (s) =>
      `| \`${s.rule}\` | ${s.detected}/${s.vulnerable} | ${pct(s.tpr)} | ${s.falsePositives}/${s.safe} | ${pct(s.fpr)} |`,
  );
  return ['| Rule | Detected | TPR | False alarms | FPR |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
