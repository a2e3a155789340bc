import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RULES, ruleFailures } from '../../src/github/rules/index.js';
import { evaluateCorpus } from './corpus-eval.js';

/**
 * The labelled corpus (test/github/corpus/<rule>/{vulnerable,safe}) holds every rule to the goal of
 * the issue: at least 90 % of vulnerable snippets detected and at most 5 % of safe look-alikes
 * flagged, per rule, at the confidence the PR scan publishes. docs/github.md carries the figures
 * (`npm run bench -- github` prints them).
 */
test('every rule detects at least 90 % of its vulnerable snippets and flags at most 5 % of its safe look-alikes', () => {
  const { scores } = evaluateCorpus();
  assert.equal(scores.length, RULES.length);
  for (const s of scores) {
    assert.ok(
      s.vulnerable >= 8 && s.safe >= 8,
      `${s.rule} needs at least 8 vulnerable and 8 safe snippets (has ${s.vulnerable}/${s.safe})`,
    );
    assert.ok(s.tpr >= 0.9, `${s.rule}: TPR ${s.tpr.toFixed(2)}; missed ${s.missed.join(', ')}`);
    assert.ok(s.fpr <= 0.05, `${s.rule}: FPR ${s.fpr.toFixed(2)}; false alarms ${s.falseAlarms.join(', ')}`);
  }
});

test('every rule covers TypeScript/JavaScript, Python, Go and Java in the corpus', async () => {
  const { readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { CORPUS_DIR } = await import('./corpus-eval.js');
  for (const r of RULES) {
    const exts = new Set(
      ['vulnerable', 'safe'].flatMap((k) =>
        readdirSync(join(CORPUS_DIR, r.id, k)).map((f) => f.slice(f.lastIndexOf('.') + 1)),
      ),
    );
    const langs = ['js|ts|tsx', 'py', 'go', 'java'].filter((l) => l.split('|').some((e) => exts.has(e)));
    assert.equal(langs.length, 4, `${r.id} has snippets in ${[...exts].join(', ')}`);
  }
});

test('no rule throws on any snippet of the corpus', () => {
  ruleFailures.length = 0;
  evaluateCorpus();
  assert.deepEqual(ruleFailures, []);
});

test('safe snippets of one rule raise no published finding of another rule either', () => {
  assert.deepEqual(evaluateCorpus().otherRuleAlarmsOnSafe, []);
});
