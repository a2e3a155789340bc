import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { GENERATED_PAGES } from './generate.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('generated reference pages', () => {
  for (const page of GENERATED_PAGES) {
    test(`${page.path} matches the code it is generated from (run npm run docs:gen when it does not)`, async () => {
      assert.equal(readFileSync(join(root, page.path), 'utf8'), await page.render());
    });
  }
});
