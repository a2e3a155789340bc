import { evaluateCorpus, scoreTable } from './test/github/corpus-eval.js';
const r = evaluateCorpus();
console.log(scoreTable(r.scores));
for (const s of r.scores) { if (s.missed.length) console.log('MISSED', s.missed.join(' ')); if (s.falseAlarms.length) console.log('FP', s.falseAlarms.join(' ')); }
console.log('other', r.otherRuleAlarmsOnSafe);
