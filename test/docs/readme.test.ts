import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../peers/rsyslog.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** The fenced blocks of a Markdown file marked ```sh runnable, in order. */
export function runnableBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh runnable\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
}

/**
 * The docs cannot rot: every shell block marked `runnable` is executed, as written, against a
 * fresh Palisade (its own data directory and a free port instead of 8080). It needs the build
 * (`npm run build`), which the test command makes first.
 */
describe('runnable commands in the docs', () => {
  for (const mail of ['without', 'with'] as const) test(`README: the first session works as written, from a fresh data directory, ${mail} a mail server configured`, async (t) => {
    if (!existsSync(join(root, 'dist/src/cli.js'))) return t.skip('run npm run build first');
    const blocks = runnableBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
    assert.equal(blocks.length, 1, 'the README has its first session as one runnable block');
    const dir = mkdtempSync(join(tmpdir(), 'palisade-readme-'));
    const port = await freePort();
    const script = `set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n${(blocks[0] as string).replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`).replaceAll('node dist/src/cli.js', `node ${join(root, 'dist/src/cli.js')}`)}`;
    try {
      const out = await run('bash', ['-c', script], {
        cwd: dir,
        timeout: 60_000,
        env: {
          ...process.env,
          PALISADE_PORT: String(port),
          DATABASE_URL: `sqlite:${join(dir, 'data/palisade.db')}`,
          PALISADE_LOG_LEVEL: 'warn',
          PALISADE_PASSWORD_SCRYPT_LOG_N: '12',
          PALISADE_SMTP_URL: mail === 'with' ? 'smtp://127.0.0.1:9' : '',
          PALISADE_SMTP_FROM: mail === 'with' ? 'palisade@acme.example' : '',
        },
      });
      const last = JSON.parse(out.stdout.trim().split('\n').at(-1) as string) as { data: { name: string; yourRole: string }[] };
      assert.deepEqual(last.data.map((o) => [o.name, o.yourRole]), [['Acme', 'primary_owner']]);
      assert.match(out.stdout, /"email":"admin@acme\.example"/, 'the setup link signed the owner in');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
