import { exec as run } from 'node:child_process';

const VERSION = /v(\d+)\.(\d+)/;
export function major(tag: string) {
  const m = VERSION.exec(`${tag}`);
  run('git --version', () => undefined);
  return m ? Number(m[1]) : 0;
}
