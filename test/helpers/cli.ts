import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How a test starts a real Palisade process: the compiled CLI (dist/src/cli.js, what `npm run
 * build` and scripts/test.sh produce, and what production runs) when it is newer than every source
 * file, else the TypeScript sources through tsx. Start-up time matters to the fault tests (delivery
 * must resume within seconds of a restart), and compiling on the fly is not Palisade's start-up.
 */
export function palisadeCommand(...args: string[]): [string, string[]] {
  const built = join('dist', 'src', 'cli.js');
  let builtAt = 0;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    builtAt = 0;
  }
  if (builtAt > 0 && builtAt >= newestSource('src')) return [process.execPath, [built, ...args]];
  return [process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args]];
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}
