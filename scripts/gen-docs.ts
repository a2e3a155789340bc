/**
 * Writes the generated reference pages of the docs site from the code that defines them, so they
 * cannot drift: `npm run docs:gen`. test/docs/reference.test.ts fails when a page is stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_PAGES } from '../test/docs/generate.js';

const root = fileURLToPath(new URL('..', import.meta.url));
for (const page of GENERATED_PAGES) {
  writeFileSync(join(root, page.path), await page.render());
  console.log(`wrote ${page.path}`);
}
