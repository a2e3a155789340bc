import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GITHUB_ERRORS } from '../../src/github/errors.js';
import { GITHUB_AUDIT_ACTIONS } from '../../src/github/audit-actions.js';

const doc = readFileSync(new URL('../../docs/github.md', import.meta.url), 'utf8');

test('every GitHub error code is documented with its status in docs/github.md', () => {
  const missing: string[] = [];
  for (const [code, status] of Object.entries(GITHUB_ERRORS)) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
    if (!row || !row.includes(`| ${status} |`)) missing.push(`${code} (${status})`);
  }
  assert.deepEqual(missing, []);
});

test('every GitHub audit action is documented', () => {
  assert.deepEqual(
    Object.keys(GITHUB_AUDIT_ACTIONS).filter((a) => !doc.includes(`\`${a}\``)),
    [],
  );
});
