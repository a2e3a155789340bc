import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLI, root, runBlocks, runnableBlocks } from './runnable.js';

/**
 * The docs cannot rot: every shell block marked `runnable` is executed, as written, against a
 * fresh Palisade (its own data directory and a free port instead of 8080). It needs the build
 * (`npm run build`), which the test command makes first. The guides' blocks: test/docs/guides.test.ts.
 */
describe('runnable commands in the docs', () => {
  for (const mail of ['without', 'with'] as const) test(`README: the first session works as written, from a fresh data directory, ${mail} a mail server configured`, async (t) => {
    if (!existsSync(CLI)) return t.skip('run npm run build first');
    const blocks = runnableBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
    assert.equal(blocks.length, 1, 'the README has its first session as one runnable block');
    const out = await runBlocks(blocks, {
      timeoutMs: 60_000,
      env: { PALISADE_SMTP_URL: mail === 'with' ? 'smtp://127.0.0.1:9' : '', PALISADE_SMTP_FROM: mail === 'with' ? 'palisade@acme.example' : '' },
    });
    const last = JSON.parse(out.stdout.trim().split('\n').at(-1) as string) as { data: { name: string; yourRole: string }[] };
    assert.deepEqual(last.data.map((o) => [o.name, o.yourRole]), [['Acme', 'primary_owner']]);
    assert.match(out.stdout, /"email":"admin@acme\.example"/, 'the setup link signed the owner in');
  });
});
