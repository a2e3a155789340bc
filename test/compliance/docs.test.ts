import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { COMPLIANCE_AUDIT_ACTIONS } from '../../src/compliance/audit-actions.js';
import { COMPLIANCE_ERRORS } from '../../src/compliance/errors.js';
import { ALL_SCOPES } from '../../src/compliance/scopes.js';

const doc = readFileSync(new URL('../../docs/compliance-api.md', import.meta.url), 'utf8');

describe('docs/compliance-api.md', () => {
  test('documents every error code with its status, every scope and every audit action', () => {
    for (const [code, status] of Object.entries(COMPLIANCE_ERRORS))
      assert.ok(doc.includes(`| \`${code}\` | ${status} |`), `error ${code} (${status}) is not in the errors table`);
    for (const scope of ALL_SCOPES) assert.ok(doc.includes(`| \`${scope}\` |`), `scope ${scope}`);
    for (const action of Object.keys(COMPLIANCE_AUDIT_ACTIONS))
      assert.ok(doc.includes(`| \`${action}\` |`), `audit action ${action}`);
  });
});
