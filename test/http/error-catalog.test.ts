import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { ERROR_CODES, errorCodeSpec } from '../../src/error-catalog.js';
import { PalisadeError, badRequest } from '../../src/errors.js';
import { missingPermissionCode } from '../../src/orgs/authorize.js';
import { PERMISSIONS, type Permission } from '../../src/orgs/permissions.js';

const src = fileURLToPath(new URL('../../src', import.meta.url));

describe('error code catalog', () => {
  test('a code is declared with one status: another status, or an undeclared code, is a compile error', () => {
    // Never run: type-checked only (tsc, part of the test command, fails if any of these lines compiles).
    const wrong = () => [
      // @ts-expect-error content_shredded is 410 everywhere
      new PalisadeError(409, 'content_shredded', 'x'),
      // @ts-expect-error not a declared code
      new PalisadeError(400, 'no_such_code', 'x'),
      // @ts-expect-error badRequest takes only the codes whose status is 400
      badRequest('last_primary_owner', 'x'),
    ];
    assert.equal(typeof wrong, 'function');
    assert.equal(new PalisadeError(410, 'content_shredded', 'gone').status, 410);
  });

  test('every code is snake_case, has one status and a message saying what to do', () => {
    assert.ok(ERROR_CODES.length > 150, `${ERROR_CODES.length} codes`);
    for (const e of ERROR_CODES) {
      assert.match(e.code, /^[a-z][a-z0-9_]*$/, e.code);
      assert.ok(e.status >= 400 && e.status < 600, `${e.code}: ${e.status}`);
      assert.ok(e.message.length > 20 && !e.message.includes('TODO'), `${e.code}: message`);
    }
    assert.equal(errorCodeSpec('content_shredded')?.status, 410);
  });

  test('every permission has its declared missing_permission code, 403', () => {
    for (const p of Object.keys(PERMISSIONS) as Permission[])
      assert.equal(errorCodeSpec(missingPermissionCode(p))?.status, 403, p);
  });

  test("every domain's error-codes.ts imports nothing at run time (only types)", () => {
    const files = readdirSync(src, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(src, d.name, 'error-codes.ts'))
      .filter(existsSync);
    assert.ok(files.length >= 15, `found ${files.length}`);
    for (const f of files) {
      const imports = readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('import '));
      assert.deepEqual(
        imports.filter((l) => !l.startsWith('import type ')),
        [],
        f,
      );
    }
  });
});
