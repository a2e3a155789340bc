import { execSync } from 'node:child_process';

export function archive(dir: string) {
  return execSync('tar czf /tmp/out.tgz ' + dir).toString();
}
