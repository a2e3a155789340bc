/**
 * Writes the generated reference pages of the docs site from the code that defines them, so they
 * cannot drift: `npm run docs:gen`. test/docs/reference.test.ts fails when a page is stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditActionsReference, configurationReference, errorsReference } from '../test/docs/generate.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const pages: [string, () => string][] = [
  ['docs/reference/configuration.md', configurationReference],
  ['docs/reference/audit-actions.md', auditActionsReference],
  ['docs/reference/errors.md', errorsReference],
];
for (const [path, render] of pages) {
  writeFileSync(join(root, path), render());
  console.log(`wrote ${path}`);
}
