import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { auditActionsReference, configurationReference, errorsReference } from './generate.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('generated reference pages', () => {
  test('docs/reference/configuration.md matches the configuration spec (run npm run docs:gen when it does not)', () => {
    assert.equal(readFileSync(join(root, 'docs/reference/configuration.md'), 'utf8'), configurationReference());
  });

  test('docs/reference/audit-actions.md matches the audit action catalog (run npm run docs:gen when it does not)', () => {
    assert.equal(readFileSync(join(root, 'docs/reference/audit-actions.md'), 'utf8'), auditActionsReference());
  });

  test('docs/reference/errors.md matches the error code catalogs (run npm run docs:gen when it does not)', () => {
    assert.equal(readFileSync(join(root, 'docs/reference/errors.md'), 'utf8'), errorsReference());
  });
});
