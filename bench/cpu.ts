import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU seconds used so far by every process on the machine, grouped into Palisade (the `serve`
 * processes), PostgreSQL and the rest (this process: the load generator), from /proc (Linux; empty
 * elsewhere). Where the two cores go during a run is what decides how 1 and 3 instances compare.
 */
export function cpuByProgram(): Map<string, number> {
  const out = new Map<string, number>();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const program = /cli\.[jt]s\0serve/.test(cmd)
        ? 'palisade'
        : stat.includes('(postgres)')
          ? 'postgresql'
          : Number(pid) === process.pid
            ? 'load generator'
            : 'other';
      out.set(program, (out.get(program) ?? 0) + seconds);
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

export function cpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [k, v] of after) d.set(k, v - (before.get(k) ?? 0));
  return d;
}
