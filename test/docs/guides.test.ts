import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { TEST_DIALECT } from '../helpers/db.js';
import { CLI, root, runBlocks, runnableBlocks } from './runnable.js';

/**
 * The blocks run against the installation the docs describe (embedded SQLite in ./data), whatever the
 * dialect of the run: on the PostgreSQL run they would repeat the SQLite run, so they run once.
 */
const skipReason = (): string | undefined => (!existsSync(CLI) ? 'run npm run build first' : TEST_DIALECT === 'postgres' ? 'the docs run on the embedded SQLite default; done in the SQLite run' : undefined);

/** The page whose runnable blocks start a fresh server and set $URL, $PAT and $ORG for every guide. */
const PRELUDE = 'docs/getting-started.md';

/** Pages with commands that can run here (no external IdP, SIEM or model provider): each must keep its runnable blocks. */
const MUST_RUN = ['docs/getting-started.md', 'docs/guides/verify-domain.md', 'docs/guides/sso-okta.md', 'docs/guides/enforce-sso.md', 'docs/guides/scim-okta.md', 'docs/guides/retention.md', 'docs/security-model.md'];

function markdownPages(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith('.') || e.name === 'reference') return [];
    const p = join(dir, e.name);
    return e.isDirectory() ? markdownPages(p) : e.name.endsWith('.md') ? [relative(root, p)] : [];
  });
}

const blocksOf = (page: string) => runnableBlocks(readFileSync(join(root, page), 'utf8'));

/**
 * The getting-started page, the task guides and every other page with runnable blocks cannot rot: their shell blocks marked `runnable` run as
 * written, each page in a fresh directory against a fresh server started by the getting-started
 * blocks (see runBlocks for what is substituted). Needs the build (`npm run build`), dnsmasq and jq.
 */
describe('runnable commands in the getting-started page and the guides', () => {
  test('the pages whose commands can run here keep their runnable blocks', () => {
    const withBlocks = markdownPages(join(root, 'docs')).filter((p) => blocksOf(p).length);
    for (const page of MUST_RUN) assert.ok(withBlocks.includes(page), `${page} has no \`\`\`sh runnable block`);
  });

  test('getting started: the first session sets $URL, $PAT and $ORG as written', async (t) => {
    const skip = skipReason();
    if (skip) return t.skip(skip);
    const out = await runBlocks([...blocksOf(PRELUDE), 'echo "ORG=$ORG PAT=${PAT:0:8}"']);
    assert.match(out.stdout, /ORG=org_\w+ PAT=pls_pat_/);
  });

  for (const page of markdownPages(join(root, 'docs')).filter((p) => p !== PRELUDE && blocksOf(p).length)) {
    test(`${page}: its runnable blocks work as written, after getting started`, async (t) => {
      const skip = skipReason();
      if (skip) return t.skip(skip);
      await runBlocks([...blocksOf(PRELUDE), ...blocksOf(page)]);
    });
  }
});
