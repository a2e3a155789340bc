import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../peers/rsyslog.js';

const run = promisify(execFile);
export const root = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(root, 'dist/src/cli.js');

/**
 * The fenced blocks of a Markdown file marked ```sh runnable, in order. A block may be indented (inside
 * a list item); its indentation is removed.
 */
export function runnableBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^( *)```sh runnable\n([\s\S]*?)^\1```$/gm)].map((m) => {
    const indent = (m[1] as string).length;
    return (m[2] as string)
      .split('\n')
      .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
      .join('\n');
  });
}

export interface RunResult {
  stdout: string;
  stderr: string;
  dir: string;
}

/**
 * Runs shell blocks from the docs as written, in one bash script (set -euo pipefail, so a failing
 * `curl -sf` fails it), in a fresh directory against a fresh Palisade: the docs' fixed addresses become
 * free ports (the server's 127.0.0.1:8080, a local DNS server's 127.0.0.1:5353) and `node dist/src/cli.js`
 * the build of this checkout. Background processes the blocks start are stopped when the script ends.
 */
export async function runBlocks(blocks: string[], options: { env?: Record<string, string>; timeoutMs?: number; keepDir?: (dir: string) => void | Promise<void> } = {}): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-docs-'));
  const [port, dnsPort] = [await freePort(), await freePort()];
  const body = blocks
    .join('\n')
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)
    .replaceAll('--port=5353', `--port=${dnsPort}`)
    .replaceAll('127.0.0.1:5353', `127.0.0.1:${dnsPort}`)
    .replaceAll('node dist/src/cli.js', `node ${CLI}`);
  const script = `set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n${body}`;
  try {
    const out = await run('bash', ['-c', script], {
      cwd: dir,
      timeout: options.timeoutMs ?? 90_000,
      env: {
        ...process.env,
        PALISADE_PORT: String(port),
        DATABASE_URL: `sqlite:${join(dir, 'data/palisade.db')}`,
        PALISADE_LOG_LEVEL: 'warn',
        PALISADE_PASSWORD_SCRYPT_LOG_N: '12',
        PALISADE_SMTP_URL: '',
        PALISADE_SMTP_FROM: '',
        PALISADE_DNS_SERVERS: `127.0.0.1:${dnsPort}`,
        PALISADE_DNS_TIMEOUT_MS: '2000',
        ...options.env,
      },
    });
    await options.keepDir?.(dir);
    return { ...out, dir };
  } catch (err) {
    // The server's log says why a request failed; show it with the failure.
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${e.message}\n--- stdout\n${e.stdout ?? ''}\n--- stderr\n${e.stderr ?? ''}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
